class TrainshedError(Exception):
    """A refusal or failure, with the server's message. `status` is the HTTP status (None when the
    server could not be reached); `field` names the input at fault when the server said so."""

    def __init__(self, detail: str, status: int | None = None, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.field = field

    def __str__(self) -> str:
        return self.detail
