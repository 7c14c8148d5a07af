"""An authenticator app's code for tests: allauth accepts only the current 30 s step's code, so a
code read near a step's end can be stale by the time a loaded machine's request checks it."""

import time

import pyotp


def totp_code(secret: str, margin: float = 5.0) -> str:
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < margin:
        time.sleep(left + 0.1)
    return totp.now()
