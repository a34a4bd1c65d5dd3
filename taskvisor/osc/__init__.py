"""The `openstack … task` commands: an openstackclient plugin shipped in the
package (entry points in pyproject.toml), as python-ironicclient ships its own."""
