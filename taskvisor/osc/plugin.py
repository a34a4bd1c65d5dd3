"""openstackclient plugin module: OSC imports it through the
``openstack.cli.extension`` entry point and loads the commands of the
``openstack.taskvisor.v1`` group."""
from __future__ import annotations

API_NAME = "taskvisor"
API_VERSION_OPTION = "os_taskvisor_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = ("1",)


class TaskClient:
    """The task API through the cloud's own Compute and Bare Metal endpoints
    (openstacksdk's adapters carry the auth, endpoint and TLS settings)."""

    def __init__(self, connection):
        self.conn = connection

    def compute(self, method: str, path: str, **kw):
        resp = self.conn.compute.request(path, method, **kw)
        return _checked(resp)

    def baremetal(self, method: str, path: str, **kw):
        resp = self.conn.baremetal.request(path, method, **kw)
        return _checked(resp)

    def find_server(self, name_or_id: str) -> dict:
        return self.conn.compute.find_server(name_or_id, ignore_missing=False)


def _checked(resp):
    from openstack import exceptions
    exceptions.raise_from_response(resp)
    return resp


def make_client(instance):
    return TaskClient(instance.sdk_connection)


def build_option_parser(parser):
    parser.add_argument("--os-taskvisor-api-version", metavar="<version>", default=DEFAULT_API_VERSION,
                        help="taskvisor task API version (default 1)")
    return parser
