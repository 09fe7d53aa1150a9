"""Evidence a phone sends: what the bytes are (never the name), where and when the photo was
taken, and the copy without its EXIF that people outside the finding's unit receive."""

import io
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base

from shared.clock import OFFICE_TZ
from shared.errors import UnsupportedMediaType
from shared.i18n import tr

pillow_heif.register_heif_opener()

JPEG, PNG, HEIC, PDF = "image/jpeg", "image/png", "image/heic", "application/pdf"
IMAGES = (JPEG, PNG, HEIC)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
EARTH_RADIUS_M = 6_371_000


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves declare: JPEG, PNG, HEIC or PDF; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"%PDF-"):
        return PDF
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


def refuse(filename: str | None) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        tr(
            "'{name}' is not a JPEG, PNG or HEIC photo or a PDF document (judged by its content, "
            "not its name); send one of those.",
            name=(filename or "the file")[:120],
        )
    )


@dataclass(frozen=True)
class Seen:
    """What the file's own metadata says (images only)."""

    captured_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Judged:
    media_type: str
    seen: Seen
    public: bytes | None  # an image re-encoded without EXIF; None: the bytes themselves are safe
    public_media_type: str | None


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError):
        return None
    sign = -1 if str(ref).upper() in ("S", "W") else 1
    return sign * (d + m / 60 + s / 3600)


def _seen(image: Image.Image) -> Seen:
    exif = image.getexif()
    taken = exif.get_ifd(IFD.Exif).get(Base.DateTimeOriginal) or exif.get(Base.DateTime)
    captured = None
    if isinstance(taken, str):
        try:  # EXIF keeps the phone's local time without a zone: Beijing time here
            captured = datetime.strptime(taken.strip(), "%Y:%m:%d %H:%M:%S").replace(tzinfo=OFFICE_TZ)
        except ValueError:
            captured = None
    gps = exif.get_ifd(IFD.GPSInfo)
    lat = _degrees(gps.get(GPS.GPSLatitude), gps.get(GPS.GPSLatitudeRef)) if gps else None
    lon = _degrees(gps.get(GPS.GPSLongitude), gps.get(GPS.GPSLongitudeRef)) if gps else None
    return Seen(captured, lat, lon)


def judge(data: bytes, filename: str | None) -> Judged:
    """The file's type from its bytes (415 for anything but JPEG, PNG, HEIC and PDF, or an image
    that does not decode), what its EXIF says, and for an image the copy without its metadata
    (JPEG for a JPEG or HEIC, PNG for a PNG), turned upright as the phone held it."""
    media_type = sniff(data)
    if media_type is None:
        raise refuse(filename)
    if media_type == PDF:
        return Judged(PDF, Seen(), None, None)
    try:
        with Image.open(io.BytesIO(data)) as image:
            seen = _seen(image)
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if media_type == PNG:
                upright.save(out, format="PNG")
                public_type = PNG
            else:
                upright.convert("RGB").save(out, format="JPEG", quality=90)
                public_type = JPEG
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise refuse(filename) from exc
    return Judged(media_type, seen, out.getvalue(), public_type)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> Decimal:
    """Great-circle distance in metres (haversine), to 0.1 m."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return Decimal(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))).quantize(Decimal("0.1"))


__all__ = ["IMAGES", "Judged", "Seen", "distance_m", "judge", "refuse", "sniff"]
