"""API: a session's files, with the pages' own views (chatapp/attachments.py): upload
(multipart `files`), list, one, and its file by a redirect to a short-lived signed link. A
message carries uploaded files by their ids (`attachment_ids` when sending)."""

from __future__ import annotations

from chatapp import attachments
from chatapp.api import bp

SESSION_FILES = "/sessions/<uuid:session_id>/attachments"

bp.add_url_rule(SESSION_FILES, endpoint="upload_attachments", view_func=attachments.upload,
                methods=["POST"])
bp.add_url_rule(SESSION_FILES, endpoint="list_attachments",
                view_func=attachments.list_attachments)
bp.add_url_rule(SESSION_FILES + "/<int:attachment_id>", endpoint="get_attachment",
                view_func=attachments.show_attachment)
bp.add_url_rule(SESSION_FILES + "/<int:attachment_id>/file", endpoint="attachment_file",
                view_func=attachments.open_file)
