"""The terminal UI behind `cliffhanger chat`: a Textual app over `cliffhanger.app.room.Room`.

Textual loads only when this package is imported; `cliffhanger --help` never imports it.
"""
