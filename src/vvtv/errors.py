"""One error tree for VVTV.

    VVTVError
    ├── ConfigError        a setting is missing or invalid          (expected)
    ├── InputError         bad input from a user, a file or a URL   (expected)
    │   └── RejectedError  content judged unfit, with the reason    (expected)
    ├── ToolError          an outside tool (ffmpeg, browser) failed; carries its stderr
    └── StorageError       the database is unusable

`expected` errors are shown to users as one line, without a traceback.
"""


class VVTVError(Exception):
    expected = False


class ConfigError(VVTVError):
    expected = True


class InputError(VVTVError):
    expected = True


class RejectedError(InputError):
    """Content that was read fine but does not meet the channel's standard."""


class ToolError(VVTVError):
    def __init__(self, message: str, *, command: list[str] | None = None, stderr: str = "") -> None:
        tail = stderr.strip().splitlines()[-8:] if stderr else []
        detail = ("\n  " + "\n  ".join(tail)) if tail else ""
        super().__init__(message + detail)
        self.command = command or []
        self.stderr = stderr


class StorageError(VVTVError):
    pass
