"""assets.toml in the season folder: the user's images for keyframes and reference sheets.

    # ids from `cliffhanger export DIR --format keyframes` and `--format references`
    kf-001-01-3fa9c1 = "https://cdn.example.com/heiress/kf-001-01-3fa9c1.png"
    sheet-lin_wan-v1 = "refs/lin_wan.png"          # a file: relative to the season folder, or absolute
    sheet-lin_mansion_hall = "gs://my-bucket/hall.png"

One `id = "image"` per line, no sections. An image is a URL (http, https, gs, s3, data) or a file that exists.
A key that is not a keyframe or sheet id, a value that is not such a string, a file that is not there or
TOML that does not parse is a `SeasonError` naming the file and the entry (the export stops, exit 2).
Ids assets.toml does not have are not errors: jobs carry the id where the image goes and the export
names them (`app.export_frames`). Ids of shots that no longer exist are ignored.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from cliffhanger.agents.season.store_io import SeasonError
from cliffhanger.genres.ids import ID_BODY

ASSET_ID = re.compile(rf"kf-\d{{3}}-\d{{2}}-[0-9a-f]{{6}}|sheet-{ID_BODY}(?:-v[1-9][0-9]*)?")
URL_SCHEMES = ("https://", "http://", "gs://", "s3://", "data:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def read_assets(path: Path, is_file: Callable[[str], bool]) -> dict[str, str]:
    """The id -> image table of the assets.toml at `path` ({} when there is none); `is_file(value)` says whether a
    value that is not a URL names a file (the store resolves it against the season folder)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise SeasonError(f"{path}: not valid TOML ({exc}): write one `id = \"URL or file\"` per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeasonError(f"{path}: cannot read ({exc.__class__.__name__}): fix or remove the file") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            raise SeasonError(f"{path}: [{key}] is a section: assets.toml takes one `id = \"URL or file\"` per line, "
                              "no sections")
        if not ASSET_ID.fullmatch(key):
            raise SeasonError(f"{path}: {key!r} is not a keyframe or reference sheet id (kf-EEE-SS-xxxxxx, "
                              "sheet-ID-vN, sheet-ID): copy the ids from `export --format keyframes|references`")
        if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
            raise SeasonError(f"{path}: {key} = {value!r}: give a URL or a file name in quotes")
        value = value.strip()
        if not value.startswith(URL_SCHEMES) and not is_file(value):
            raise SeasonError(f"{path}: {key} names {value!r}, which is not a file (a relative path starts at the "
                              "season folder): fix the path or give a URL")
        out[key] = value
    return out
