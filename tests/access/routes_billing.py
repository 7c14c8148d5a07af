from tests.access.spec import ANY_SIGNED_IN, OWNER_ADMIN, Route

ROUTES = {
    # Every billing page acts on the requester's own billing account only.
    "billing:overview": Route(get=ANY_SIGNED_IN),
    "billing:ledger-csv": Route(get=ANY_SIGNED_IN),
    "billing:charge-to": Route(post=ANY_SIGNED_IN, data=lambda w: {"charge_to": ""}),
    "billing:allow-user": Route(post=ANY_SIGNED_IN, data=lambda w: {"email": "owner@example.com"}),
    "billing:disallow-user": Route(
        kwargs=lambda w: {"user_id": w.people["owner"].pk}, post={
            "owner": 404, "member_all": 404, "member_read": 404, "member_none": 404, "outsider": 404,
            "anonymous": "login"},
    ),
    "billing:project-budget": Route(
        kwargs=lambda w: {"project_id": w.project.pk}, post=OWNER_ADMIN, data=lambda w: {"monthly_cap": "50"}
    ),
}
