"""Media types of the tile formats tumen serves and bakes (jpeg is TiTiler's other name for jpg)."""

MEDIA_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
