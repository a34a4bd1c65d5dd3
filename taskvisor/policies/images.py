"""Images: Glance's secure-RBAC rule names and defaults (project reader /
member, public images readable by all, publicizing admin only)."""
from taskvisor.policies.base import ADMIN, op

I = "/image/v2/images"
MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"
READER = "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"

rules = [
    op("get_images", "role:admin or role:reader", "List images (each one shown if readable)", "GET", I),
    op("get_image", READER, "Show an image", "GET", f"{I}/{{image_id}}"),
    op("add_image", "role:admin or (role:member and project_id:%(owner)s)", "Create an image", "POST", I),
    op("modify_image", MEMBER, "Update an image", "PATCH", f"{I}/{{image_id}}"),
    op("delete_image", MEMBER, "Delete an image", "DELETE", f"{I}/{{image_id}}"),
    op("publicize_image", ADMIN, "Create or make an image public", "POST", I),
    op("upload_image", MEMBER, "Upload an image's data", "PUT", f"{I}/{{image_id}}/file"),
    op("download_image", READER, "Download an image's data", "GET", f"{I}/{{image_id}}/file"),
    op("get_image_schema", "role:admin or role:reader", "Show the image schema", "GET", "/image/v2/schemas/image"),
]
