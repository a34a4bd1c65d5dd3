"""The `taskvisor` command: all-in-one | api | conductor | compute | db upgrade | states."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from taskvisor.config import Config


def _common(parser: argparse.ArgumentParser, database: bool = True) -> None:
    parser.add_argument("--config-file", help="ini file with [DEFAULT], [database], [conductor] ... options")
    parser.add_argument("--data-dir", help="directory for the SQLite file, guest state and images")
    if database:  # a compute never opens the database: it has no such option
        parser.add_argument("--database", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/taskvisor")
    parser.add_argument("--transport-url", help="inprocess:// or amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    parser.add_argument("--log-format", choices=["text", "json"], default=None,
                        help="text lines, or one JSON object a line for log shippers (default text)")


def _listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", help="address the API binds to (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port the API listens on (default 8774)")


def _metrics(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=int, default=0,
                        help="serve this process's Prometheus metrics (RPC call latency) on "
                             "http://127.0.0.1:PORT/metrics (default: off)")
    parser.add_argument("--metrics-listen", default="127.0.0.1", help="address the metrics port binds to")


def _serve_metrics(args: argparse.Namespace) -> None:
    """A conductor's or compute's own figures (the API serves its own at /metrics)."""
    if args.metrics_port:
        from prometheus_client import start_http_server
        from taskvisor.rpc.metrics import REGISTRY
        start_http_server(args.metrics_port, addr=args.metrics_listen, registry=REGISTRY)
        LOG.info("metrics on http://%s:%d/metrics", args.metrics_listen, args.metrics_port)


def _host(parser: argparse.ArgumentParser, help_text: str) -> None:
    """--host is the service's name, as Nova's ``host`` option; --name is its old spelling."""
    parser.add_argument("--host", "--name", dest="name", help=help_text)


def _load(args: argparse.Namespace) -> Config:
    overrides = {("DEFAULT", "data_dir"): args.data_dir, ("database", "connection"): getattr(args, "database", None),
                 ("DEFAULT", "transport_url"): args.transport_url}
    for attr, key in (("port", ("api", "port")), ("listen", ("api", "listen")), ("driver", ("compute", "driver")),
                      ("name", ("DEFAULT", "host"))):
        if getattr(args, attr, None) is not None:
            overrides[key] = getattr(args, attr)
    conf = Config.load(args.config_file, overrides)
    from taskvisor.compute.rpcapi import parse_upgrade_level
    try:  # a value this code does not know stops the service before it starts
        parse_upgrade_level(conf.upgrade_levels.compute)
    except ValueError as exc:
        raise SystemExit(f"taskvisor: {exc}") from None
    return conf


LOG = logging.getLogger("taskvisor")


def _check_listen(conf: Config, args: argparse.Namespace) -> None:
    from taskvisor.api.middleware.auth import check_listen
    check_listen(conf, getattr(args, "insecure_noauth", False))


def _serve_api(conf: Config, app, stop_when: threading.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT (or ``stop_when`` is set); then uvicorn
    stops taking requests and finishes the ones in flight, and this returns
    (so the caller's shutdown runs). uvicorn re-raises the signal it caught
    once it is done, with the handlers it found installed: ours only record
    it, where the default SIGTERM action would end the process before the
    caller's ``finally``."""
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app, host=conf.api.listen, port=conf.api.port, log_level="warning",
                                           access_log=False, lifespan="off"))
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    if stop_when is not None:
        def watch() -> None:
            stop_when.wait()
            server.should_exit = True
        threading.Thread(target=watch, name="api-stop-when", daemon=True).start()
    LOG.info("API listening on http://%s:%s", conf.api.listen, conf.api.port)
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        LOG.info("%s: the API has stopped taking requests; shutting down", signal.Signals(received[0]).name)


def _second_signal_ends_now() -> None:
    """While shutting down, another SIGTERM/SIGINT leaves at once; the tasks
    still running resume from their checkpoints on the next start."""
    def now(signum, _frame):
        LOG.warning("%s again: leaving without waiting", signal.Signals(signum).name)
        logging.shutdown()
        os._exit(0)
    signal.signal(signal.SIGTERM, now)
    signal.signal(signal.SIGINT, now)


def cmd_all_in_one(args: argparse.Namespace) -> int:
    from taskvisor import allinone
    conf = _load(args)
    if args.engine:  # the conductor+compute child of a split all-in-one
        return allinone.run_engine(conf, _wait_for_signal, _second_signal_ends_now)
    reason = allinone.cannot_split(conf) or (None if args.split else allinone.split_does_not_pay())
    if args.single_process or reason:
        _check_listen(conf, args)
        if reason and not args.single_process:
            LOG.info("one process: %s", reason)
        return _all_in_one_process(conf)
    # The conductor+compute child is forked first: before this process starts
    # any thread or opens any connection, and before it imports the API's
    # modules (which the child does not need), so that the two share what
    # both use and little else.
    node = allinone.SplitAllInOne(conf, args.argv, engine_main=lambda link_pipe: allinone.run_engine(
        conf, _wait_for_signal, _second_signal_ends_now, link_pipe))
    try:
        _check_listen(conf, args)
    except BaseException:  # refused: the child, still waiting for the bus, just goes
        node.stop(wait=0)
        raise
    try:
        node.open().start()
        app = node.app()  # while the child starts
        if not node.wait_ready():
            raise SystemExit("taskvisor: the conductor and compute process did not start; see its log above")
        allinone.settle_after_start_up()
        _serve_api(conf, app, stop_when=node.died)
    finally:
        code = _stop_all_in_one(conf, node)
    return 1 if node.died.is_set() else code


def _all_in_one_process(conf: Config) -> int:
    from taskvisor.allinone import AllInOne, settle_after_start_up
    node = AllInOne(conf, upgrade_apart=True).start()
    try:
        app = node.app()
        settle_after_start_up()
        _serve_api(conf, app)
    finally:
        _stop_all_in_one(conf, node)
    return 0


def _stop_all_in_one(conf: Config, node):
    """A graceful stop of either kind of all-in-one; what its ``stop`` returns."""
    _second_signal_ends_now()
    LOG.info("letting running steps reach their checkpoint (up to %ss)", conf.DEFAULT.graceful_shutdown_timeout)
    stopped = node.stop(wait=conf.DEFAULT.graceful_shutdown_timeout)
    LOG.info("all-in-one stopped")
    return stopped


def cmd_api(args: argparse.Namespace) -> int:
    from taskvisor.allinone import open_database
    from taskvisor.api.app import create_app
    from taskvisor.flows import FLOWS
    from taskvisor.rpc.base import transport_from
    conf = _load(args)
    _check_listen(conf, args)
    db = open_database(conf, upgrade=False)
    _serve_api(conf, create_app(conf, db, transport_from(conf), FLOWS))
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1):
        pass


def cmd_conductor(args: argparse.Namespace) -> int:
    from taskvisor.allinone import open_database
    from taskvisor.conductor.service import Conductor
    from taskvisor.flows import FLOWS
    from taskvisor.rpc.base import transport_from
    conf = _load(args)
    conductor = Conductor(conf, open_database(conf, upgrade=False), transport_from(conf), FLOWS)
    _serve_metrics(args)
    conductor.start()
    _wait_for_signal()
    _second_signal_ends_now()
    conductor.stop(wait=conf.DEFAULT.graceful_shutdown_timeout)
    return 0


def cmd_compute(args: argparse.Namespace) -> int:
    """SIGTERM or SIGINT drains (graceful shutdown); a second one ends at once."""
    from taskvisor.compute.service import ComputeService
    from taskvisor.rpc.base import transport_from
    from taskvisor.virt import load_driver
    conf = _load(args)
    transport = transport_from(conf)
    compute = ComputeService(conf, transport, load_driver(conf, transport))
    _serve_metrics(args)
    compute.start()
    signals = threading.Semaphore(0)
    signal.signal(signal.SIGTERM, lambda *_: signals.release())
    signal.signal(signal.SIGINT, lambda *_: signals.release())
    while not signals.acquire(timeout=1):
        pass
    outcome: list[bool] = []
    drainer = threading.Thread(target=lambda: outcome.append(compute.drain()), name="drain")
    drainer.start()
    while drainer.is_alive():
        if signals.acquire(timeout=0.2):  # a second signal: stop now
            compute.force_exit()
    if not (outcome and outcome[0]):
        # Cut short: leave now, without waiting for the calls still running
        # (the interpreter would join their threads). Their operations resume
        # through the crash-safety rules.
        logging.shutdown()
        os._exit(0)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from taskvisor.allinone import open_database
    open_database(_load(args), upgrade=True)
    print("database is at the newest schema")
    return 0


def cmd_states(args: argparse.Namespace) -> int:
    from taskvisor.states import diagram
    print(diagram.render(args.machine, args.format))
    return 0

def cmd_policy(args: argparse.Namespace) -> int:
    """Every rule with its default check string (and, with --config-file,
    what the policy file makes of it)."""
    from taskvisor.api.policy import enforcer_for
    from taskvisor.policies import list_rules
    conf = Config.load(args.config_file)
    enforcer = enforcer_for(conf)
    enforcer.load_rules()
    for rule in list_rules():
        effective = str(enforcer.rules.get(rule.name, rule.check_str))
        line = f"{rule.name}: {rule.check_str!r}"
        if effective != str(rule.check):
            line += f"  (policy file: {effective!r})"
        print(line)
        if args.verbose and rule.description:
            print(f"    {rule.description}")
    return 0


def _noauth_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--insecure-noauth", action="store_true",
                   help="serve [api] auth_strategy = noauth2 on a non-loopback address (anyone who reaches it "
                        "acts as any project and role)")


def main(argv: list[str] | None = None) -> int:
    from taskvisor import __version__
    parser = argparse.ArgumentParser(prog="taskvisor", description=__doc__)
    parser.add_argument("--version", action="version", version=f"taskvisor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("all-in-one", help="API + conductor + compute, no servers needed (SQLite, local bus): "
                                          "the API in one process, conductor and compute in a second")
    _common(p)
    _listen(p)
    _host(p, "this host's name in service records and task steps (default localhost)")
    p.add_argument("--driver", choices=["fake", "process", "libvirt", "baremetal"], help="virt driver (default fake)")
    _noauth_flag(p)
    layout = p.add_mutually_exclusive_group()
    layout.add_argument("--single-process", action="store_true",
                        help="run the API, conductor and compute in one process (one core, in-process bus); "
                             "the default where only one CPU is usable")
    layout.add_argument("--split", action="store_true",
                        help="two processes even where only one CPU is usable")
    p.add_argument("--engine", action="store_true", help=argparse.SUPPRESS)  # the child of the split
    p.set_defaults(func=cmd_all_in_one)

    p = sub.add_parser("api", help="the HTTP API alone")
    _common(p)
    _listen(p)
    _noauth_flag(p)
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("conductor", help="a conductor: runs tasks")
    _common(p)
    _host(p, "this conductor's host name (unique per conductor)")
    _metrics(p)
    p.set_defaults(func=cmd_conductor)

    p = sub.add_parser("compute", help="a compute: runs steps through a virt driver")
    _common(p, database=False)
    _host(p, "this compute's host name (unique per compute)")
    p.add_argument("--driver", choices=["fake", "process", "libvirt", "baremetal"], help="virt driver (default fake)")
    _metrics(p)
    p.set_defaults(func=cmd_compute)

    p = sub.add_parser("db", help="database maintenance")
    _common(p)
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("policy", help="policy rules")
    p.add_argument("action", choices=["list"])
    p.add_argument("--config-file", help="ini file whose [oslo_policy] policy_file overrides rules")
    p.add_argument("--verbose", "-v", action="store_true", help="also print each rule's description")
    p.set_defaults(func=cmd_policy)

    p = sub.add_parser("states", help="print a state machine diagram")
    p.add_argument("machine", choices=["server", "node"])
    p.add_argument("--format", choices=["dot", "mermaid"], default="mermaid")
    p.set_defaults(func=cmd_states)

    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # a split all-in-one starts its child with these
    # Data files hold BMC passwords and tokens: what a service creates is its own (0600 files, 0700 dirs).
    os.umask(0o077)
    from taskvisor import logs
    logs.setup(logging.DEBUG if getattr(args, "debug", False) else logging.INFO,
               getattr(args, "log_format", None) or "text")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
