"""All options in one place, with Nova's and Ironic's names where they exist.

Options live in sections as in nova.conf/ironic.conf. They are read from an
optional ini file (``--config-file``), then from environment variables named
``TASKVISOR_<SECTION>__<OPTION>`` (upper case), then from command-line flags.
"""
from __future__ import annotations

import configparser
import copy
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    section: str
    name: str
    default: Any
    help: str

    @property
    def kind(self) -> type:
        return type(self.default) if self.default is not None else str


OPTIONS = [
    Option("DEFAULT", "host", "localhost", "Name of this host (service records, task steps)."),
    Option("DEFAULT", "data_dir", "./data", "Directory for the SQLite file, guest state and images."),
    Option("DEFAULT", "transport_url", "inprocess://", "Bus: inprocess:// (all-in-one) or amqp://user:pass@host:port//."),
    Option("DEFAULT", "control_exchange", "taskvisor", "Namespace of every queue and exchange on the bus (clouds sharing a broker need different ones)."),
    Option("DEFAULT", "shutdown_timeout", 60, "Seconds a guest gets to shut down cleanly before it is forced off (0 = force at once)."),
    Option("DEFAULT", "shelved_offload_time", 0, "Seconds a shelved server keeps its guest on the host before it is offloaded: 0 = offload at once (shelve ends SHELVED_OFFLOADED), -1 = never (shelve ends SHELVED)."),
    Option("DEFAULT", "reclaim_instance_interval", 0, "Seconds a deleted server stays SOFT_DELETED (restorable) before the conductor deletes it: 0 = delete at once."),
    Option("DEFAULT", "graceful_shutdown_timeout", 180, "Seconds a compute keeps finishing in-flight work after SIGTERM."),
    Option("DEFAULT", "rpc_response_timeout", 60, "Seconds an RPC call waits for its answer."),
    Option("DEFAULT", "service_down_time", 60, "A service whose last heartbeat is older than this is down."),
    Option("DEFAULT", "report_interval", 10, "Seconds between service heartbeats."),
    Option("DEFAULT", "default_availability_zone", "nova", "The zone of a compute that no aggregate with an availability zone holds (Nova's option)."),
    Option("database", "connection", "", "SQLAlchemy URL; empty = sqlite file in data_dir."),
    Option("database", "max_pool_size", 20, "Connections each process keeps open to the database (see the README on sizing against PostgreSQL's max_connections)."),
    Option("database", "max_overflow", 20, "Connections a process may open beyond max_pool_size under load."),
    Option("database", "pool_timeout", 10.0, "Seconds a request waits for a free connection before the API answers 503 with Retry-After."),
    Option("database", "retry_after", 2, "Seconds the API's 503 answers tell clients to wait (Retry-After) when the database is saturated."),
    Option("api", "listen", "127.0.0.1", "Address the API binds to."),
    Option("api", "port", 8774, "Port the API listens on."),
    Option("api", "auth_strategy", "noauth2", "keystone: Keystone tokens, validated by keystonemiddleware's auth_token ([keystone_authtoken]). noauth2: no identity service; identity from X-Project-Id/X-User-Id/X-Roles or the defaults below (loopback only unless --insecure-noauth)."),
    Option("api", "default_project_id", "admin", "Project of requests that name none (noauth2)."),
    Option("api", "default_user_id", "admin", "User of requests that name none (noauth2)."),
    Option("api", "default_roles", "admin,member,reader", "Roles of requests that name none (noauth2)."),
    Option("api", "max_limit", 1000, "Most items one list answer returns (Nova's and Ironic's [api] max_limit); longer lists are paged with next links."),
    Option("api", "max_json_depth", 32, "Deepest nesting of arrays/objects accepted in a JSON body (deeper: 400)."),
    Option("oslo_middleware", "max_request_body_size", 114688, "Largest request body accepted, in bytes (larger: 413). Image data uploads are exempt."),
    Option("oslo_policy", "policy_file", "policy.yaml", "Rule overrides (YAML or JSON); a relative path is looked up beside --config-file, then in the working directory. Missing file = the defaults."),
    Option("keystone_authtoken", "www_authenticate_uri", "", "Public Keystone URL sent to clients in WWW-Authenticate."),
    Option("keystone_authtoken", "auth_url", "", "Keystone URL the API's own service user authenticates against."),
    Option("keystone_authtoken", "auth_type", "password", "keystoneauth1 plugin of the service user."),
    Option("keystone_authtoken", "username", "taskvisor", "Service user that validates tokens."),
    Option("keystone_authtoken", "password", "", "Service user's password (never logged)."),
    Option("keystone_authtoken", "project_name", "service", "Service user's project."),
    Option("keystone_authtoken", "user_domain_name", "Default", "Service user's domain."),
    Option("keystone_authtoken", "project_domain_name", "Default", "Service user's project's domain."),
    Option("keystone_authtoken", "region_name", "", "Region of the identity endpoint."),
    Option("keystone_authtoken", "interface", "internal", "Identity endpoint interface used to validate tokens."),
    Option("keystone_authtoken", "memcached_servers", "", "Token cache shared between API processes (host:port,...); empty = in-process cache."),
    Option("keystone_authtoken", "token_cache_time", 300, "Seconds a validated token is cached (a revoked token stays valid up to this long; -1 = no cache)."),
    Option("keystone_authtoken", "cafile", "", "CA bundle for HTTPS to Keystone."),
    Option("keystone_authtoken", "insecure", False, "Skip TLS verification of Keystone (never in production)."),
    Option("keystone_authtoken", "service_token_roles_required", True, "Service tokens must carry service_token_roles."),
    Option("api", "watch_poll_interval", 0.5, "Seconds between the API's looks for task changes to stream to watchers (one look serves every watcher)."),
    Option("conductor", "workers", 16, "Tasks one conductor runs at once."),
    Option("conductor", "lease_seconds", 4.0, "A task's lease; another conductor takes it over this long after its owner stops heartbeating."),
    Option("conductor", "poll_interval", 1.0, "Seconds between looks for claimable tasks when nothing woke the conductor."),
    Option("conductor", "step_retries", 3, "Retries of a step that failed for a transient reason (RPC timeout, lost connection)."),
    Option("conductor", "retry_backoff", 0.5, "First retry delay in seconds; doubles each retry."),
    Option("conductor", "compute_down_deadline", 120, "Seconds a step keeps retrying against a host that does not answer before the task fails."),
    Option("conductor", "max_takeovers", 5, "Times a task may be taken over from a conductor that stopped heartbeating before it is failed (dead-lettered, reason too-many-takeovers)."),
    Option("conductor", "max_runner_crashes", 5, "Times a task's runner may crash (an engine or handler bug) before the task is failed (dead-lettered, reason runner-crashed)."),
    Option("conductor", "task_deadline", 7200.0, "Seconds a task may run from its first start before it is failed (reason deadline-exceeded); a flow may declare its own."),
    Option("conductor", "step_deadline", 3600.0, "Seconds one step (or a revert or a handler) may run before its task is failed (reason step-deadline-exceeded); a step may declare its own."),
    Option("conductor", "reconcile_grace", 60.0, "Seconds a server must have been settled on another host (no task running) before a compute's copy of its guest is destroyed as a stray (a reap_guest task)."),
    Option("conductor", "periodic_interval", 30.0, "Seconds between checks for resources whose task_state has no live task."),
    Option("conductor", "automated_clean", True, "Clean nodes automatically on provide and after undeploy (a node's automated_clean overrides it)."),
    Option("conductor", "clean_step_priority_override", "", "Automated clean step priorities: 'interface.step:priority,...' (0 disables a step)."),
    Option("conductor", "max_conductor_wait_step_seconds", 30, "Longest a reserved 'wait' clean step waits (and how long one without seconds waits)."),
    Option("conductor", "power_state_change_timeout", 60, "Seconds a bare-metal power action may take before it fails."),
    Option("conductor", "power_state_poll_interval", 1.0, "Seconds between power state polls while a BMC applies a change."),
    Option("conductor", "conductor_group", "", "The conductor group this conductor is in (Ironic's [conductor] conductor_group); shown by GET /v1/conductors."),
    Option("conductor", "node_locked_retry_attempts", 3, "Times a bare-metal node request retries taking a node another task holds before 409 (Ironic's)."),
    Option("conductor", "node_locked_retry_interval", 1.0, "Seconds between those retries (Ironic's)."),
    Option("compute", "driver", "fake", "Virt driver: fake, process, libvirt or baremetal."),
    Option("compute", "workers", 16, "Steps one compute runs at once."),
    Option("compute", "shutdown_retry_interval", 10, "Seconds between repeated clean-shutdown requests to a guest."),
    Option("compute", "sync_power_state_interval", 60, "Seconds between a compute's reports of its guests' power states (also sent at start); 0 = only at start."),
    Option("compute", "cpu_allocation_ratio", 16.0, "Process driver: schedulable vCPUs per host CPU."),
    Option("compute", "ram_allocation_ratio", 1.5, "Process driver: schedulable RAM per MB of host memory."),
    Option("compute", "disk_allocation_ratio", 1.0, "Process driver: schedulable disk per GB free under data_dir."),
    Option("libvirt", "connection_uri", "qemu:///system", "Libvirt driver: the libvirtd to manage guests through."),
    Option("libvirt", "virt_type", "", "Libvirt driver: kvm or qemu (TCG, software emulation); empty = kvm when /dev/kvm works and this host is not itself a VM (nested KVM can fail guests), else qemu."),
    Option("fake", "spawn_seconds", 0.0, "Simulated time a fake guest takes to spawn."),
    Option("fake", "persist", True, "Keep the fake hypervisor's guests in a file so they survive restarts."),
    Option("fake", "vcpus", 1024, "The fake hypervisor's size the scheduler sees: vCPUs."),
    Option("fake", "memory_mb", 4 * 1024 * 1024, "The fake hypervisor's size the scheduler sees: RAM in MB."),
    Option("fake", "disk_gb", 100 * 1024, "The fake hypervisor's size the scheduler sees: disk in GB."),
    # nova-quotas: Nova's [quota] defaults (-1 = unlimited); the "default" quota class overrides them
    Option("quota", "instances", 10, "Servers allowed per project."),
    Option("quota", "cores", 20, "Instance cores (vCPUs) allowed per project."),
    Option("quota", "ram", 51200, "Megabytes of instance RAM allowed per project."),
    Option("quota", "metadata_items", 128, "Metadata items allowed per server."),
    Option("quota", "injected_files", 5, "Injected files allowed per server."),
    Option("quota", "injected_file_content_bytes", 10240, "Bytes allowed per injected file."),
    Option("quota", "injected_file_path_length", 255, "Length allowed for an injected file's path."),
    Option("quota", "key_pairs", 100, "Key pairs allowed per user."),
    Option("quota", "server_groups", 10, "Server groups allowed per project."),
    Option("quota", "server_group_members", 10, "Servers allowed per server group."),
    Option("upgrade_levels", "compute", "", "Compute RPC cap: auto (lowest of the running computes), a version (1.0) or a release name (2026.1); unset = no cap. On a compute it pins the version it serves. An integer service version is deprecated."),
]

_BY_KEY = {(o.section, o.name): o for o in OPTIONS}


def _coerce(option: Option, value: Any) -> Any:
    if value is None or isinstance(value, option.kind):
        return value
    text = str(value).strip()
    if option.kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"[{option.section}] {option.name}: {value!r} is not a boolean")
    try:
        return option.kind(text)
    except ValueError:
        raise ValueError(f"[{option.section}] {option.name}: {value!r} is not a {option.kind.__name__}") from None


class Config:
    """Typed option values: ``conf.get("compute", "driver")`` or ``conf.compute.driver``."""

    def __init__(self, values: dict[tuple[str, str], Any] | None = None):
        self._values = {key: opt.default for key, opt in _BY_KEY.items()}
        self.config_dir: str | None = None  # where --config-file lives (relative policy_file is looked up there)
        for key, value in (values or {}).items():
            self.set(*key, value)

    @classmethod
    def load(cls, path: str | None = None, overrides: dict[tuple[str, str], Any] | None = None,
             environ: dict[str, str] | None = None) -> "Config":
        conf = cls()
        if path:
            parser = configparser.ConfigParser(interpolation=None)
            with open(path) as f:
                parser.read_file(f)
            conf.config_dir = os.path.dirname(os.path.abspath(path))
            for section in ["DEFAULT", *parser.sections()]:
                items = parser.defaults() if section == "DEFAULT" else parser[section]
                for name, value in items.items():
                    if section != "DEFAULT" and name in parser.defaults() and parser.defaults()[name] == value:
                        continue
                    if (section, name) in _BY_KEY:
                        conf.set(section, name, value)
        for var, value in (os.environ if environ is None else environ).items():
            if var.startswith("TASKVISOR_") and "__" in var:
                section, name = var[len("TASKVISOR_"):].split("__", 1)
                section = "DEFAULT" if section.upper() == "DEFAULT" else section.lower()
                if (section, name.lower()) in _BY_KEY:
                    conf.set(section, name.lower(), value)
        for key, value in (overrides or {}).items():
            if value is not None:
                conf.set(*key, value)
        return conf

    def set(self, section: str, name: str, value: Any) -> None:
        option = _BY_KEY.get((section, name))
        if option is None:
            raise KeyError(f"unknown option [{section}] {name}")
        self._values[(section, name)] = _coerce(option, value)

    def get(self, section: str, name: str) -> Any:
        return self._values[(section, name)]

    def copy(self, **overrides: Any) -> "Config":
        """A copy with ``section__name=value`` overrides (tests, embedded services)."""
        conf = Config()
        conf._values = copy.deepcopy(self._values)
        conf.config_dir = self.config_dir
        for key, value in overrides.items():
            section, name = key.split("__", 1)
            conf.set(section, name, value)
        return conf

    def __getattr__(self, section: str) -> "_Section":
        if section.startswith("_"):
            raise AttributeError(section)
        return _Section(self, section)

    @property
    def database_url(self) -> str:
        url = self.get("database", "connection")
        if url:
            return url
        return f"sqlite:///{os.path.abspath(os.path.join(self.get('DEFAULT', 'data_dir'), 'taskvisor.sqlite'))}"


class _Section:
    def __init__(self, conf: Config, section: str):
        self._conf, self._section = conf, section

    def __getattr__(self, name: str) -> Any:
        section = "DEFAULT" if self._section == "default" else self._section
        try:
            return self._conf.get(section, name)
        except KeyError:
            raise AttributeError(f"no option [{section}] {name}") from None
