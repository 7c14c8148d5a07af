"""TEMPORARY until the relay branch lands."""
import hashlib
import hmac
import time


def notebook_ticket(secret: bytes, *, user_id, job_id, ttl=120) -> str:
    expires = int(time.time()) + ttl
    sig = hmac.new(secret, f"notebook\n{user_id}\n{job_id}\n{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{user_id}.{job_id}.{expires}.{sig}"
