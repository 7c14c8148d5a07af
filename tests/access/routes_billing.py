from tests.access.spec import ANY_SIGNED_IN, OWNER_ADMIN, Route, expect

ROUTES = {
    # Every billing page acts on the requester's own billing account only.
    "billing:overview": Route(get=ANY_SIGNED_IN),
    "billing:ledger-csv": Route(get=ANY_SIGNED_IN),
    # A group of the requester's own ledger, named in the query (tests/billing/test_ledger_readable.py
    # proves another account's group is a 404); without one there is nothing to show.
    "billing:ledger-group": Route(get=expect(404, 404, 404, 404, 404)),
    "billing:low-balance": Route(post=ANY_SIGNED_IN, data=lambda w: {"low_balance_threshold": "5"}),
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
