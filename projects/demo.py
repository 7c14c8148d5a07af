from accounts.demo import user
from projects import services
from projects.models import Invitation, Membership, Project


def _project(owner, name) -> Project:
    existing = Project.objects.filter(owner=owner, name=name, is_personal=False).first()
    return existing or services.project_create(owner=owner, name=name)


def _member(project, person, **levels) -> None:
    if not Membership.objects.filter(project=project, user=person).exists():
        services.membership_set(project=project, user=person, actor=project.owner, **levels)


def load(stdout) -> None:
    alice, bob, carol = (user(f"{n}@example.com") for n in ("alice", "bob", "carol"))
    vision = _project(alice, "Vision Research")
    _member(vision, bob, jobs="all", datasets="read", models="read")
    _member(vision, carol, jobs="read", datasets="read", models="read")
    nlp = _project(bob, "NLP Sandbox")
    _member(nlp, alice, jobs="all", datasets="all", models="all")
    if not Invitation.objects.filter(project=vision, email="dave@example.com").exists():
        services.member_add_by_email(
            project=vision, email="dave@example.com", jobs="read", datasets="read", models="none",
            actor=alice,
        )
    stdout.write("  projects: Vision Research (alice), NLP Sandbox (bob), invitation for dave@example.com")
