"""`make prodlike`: the production topology on this machine, on loopback.

nginx (deploy/nginx-app.conf) in front of gunicorn (deploy/gunicorn.conf.py) with the
production settings (DEBUG off), a Celery worker (2 processes) and beat, PostgreSQL and Redis
from the machine (started when they are down), a local SMTP sink, and the tests' fake of
Stripe as a small server. A supervisor plays systemd's part for the worker: it starts the
worker again when it exits and when the worker's watchdog finds it stuck. TLS is not
terminated on loopback, so SECURE_SSL_REDIRECT is off; everything else is as in production.

With `--email-provider postmark` (`make prodlike EMAIL_PROVIDER=postmark`) every email goes
through Postmark's API instead of SMTP, to the tests' fake of it (tests/support/
providers_fake.py) run as a service of the topology, and Postmark's tracking webhook takes
the events posted with the topology's `ANYMAIL_WEBHOOK_SECRET` (`webhook_secret`).

    python deploy/prodlike/run.py start    # idempotent: starts only what is not running
    python deploy/prodlike/run.py start --email-provider postmark   # mail through the fake
    python deploy/prodlike/run.py start --web-nodes 2 --worker-nodes 2   # several nodes
    python deploy/prodlike/run.py stop     # stops what `start` started (by process id)
    python deploy/prodlike/run.py status

`make bench` builds its own topology from the same pieces (`Topology`) with other ports,
another database and another Redis database.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STRIPE_PRICES = ["price_prodlike_monthly", "price_prodlike_annual", "price_prodlike_seat"]
# The email providers whose fake the topology can send through (`Topology.email_provider`).
EMAIL_PROVIDERS = ["postmark"]


def log(message: str) -> None:
    print(f"--- {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"Timed out after {timeout:.0f} s waiting for {what}.")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, cwd=ROOT, **kwargs)


# Debian's build of ngx_cache_purge, which deploy/nginx.conf's purge server needs.
PURGE_MODULE = Path("/usr/lib/nginx/modules/ngx_http_cache_purge_module.so")


def ensure_debian_package(command: str, package: str, *, file: Path | None = None) -> None:
    """Install a Debian package when its command (or `file`) is missing (a fresh machine)."""
    if file.exists() if file is not None else shutil.which(command):
        return
    if os.geteuid() != 0:
        missing = file or command
        raise SystemExit(f"{missing} is missing: run `sudo apt-get install -y {package}`.")
    log(f"installing Debian's {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", package], env=env, stdout=subprocess.DEVNULL)


def ensure_postgresql() -> None:
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0:
        return
    log("starting PostgreSQL")
    versions = sorted(os.listdir("/etc/postgresql"))
    run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"])
    wait_for(
        lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0,
        timeout=30,
        what="PostgreSQL",
    )


def ensure_redis() -> None:
    if port_open(6379):
        return
    log("starting Redis")
    run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
         "--save", "", "--appendonly", "no"])  # fmt: skip
    wait_for(lambda: port_open(6379), timeout=30, what="Redis")


def ensure_database(name: str, port: int = 5432) -> None:
    listing = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-lqtA"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if name not in {line.split("|", 1)[0] for line in listing.splitlines()}:
        log(f"creating the database {name}")
        run(["createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name])


def _nice_session(pid: int, nice: int) -> None:
    """Give a service's whole session the nice value of its processes.

    Each service is started in a session of its own, and with the kernel's autogroup
    scheduling (on by default) every session gets an equal share of the CPU whatever its
    processes' nice values: a niced worker would still take a whole core from nginx. The
    session's own nice value is what ranks it against the others (sched(7), "The autogroup
    feature"); systemd units do the same with CPUWeight=.
    """
    # Without autogroup (no such file) the processes' nice value is all there is.
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


@dataclass
class Topology:
    name: str = "prodlike"
    http_port: int = 8480
    app_port: int = 8481
    smtp_port: int = 8425
    # "" sends over SMTP to the sink; "postmark" through Postmark's API to the providers'
    # fake on provider_port, whose events the tracking webhook accepts with webhook_secret.
    email_provider: str = ""
    provider_port: int = 8426
    webhook_secret: str = "prodlike-hooks:prodlike-webhook-placeholder"  # noqa: S105
    database: str = "publisher_prodlike"
    redis_db: int = 13
    # The machine's PostgreSQL and Redis unless a suite brings its own (to stop them).
    postgres_port: int = 5432
    redis_port: int = 6379
    # A Stripe fake the caller runs itself (the fault suite), instead of the fake's server.
    stripe_api_base: str = ""
    keep_mail_bodies: bool = True
    # The sink stands in for an SMTP relay on another machine: `make bench` lowers its
    # priority so that it does not take the web's CPU, as no real relay would.
    smtp_nice: int = 0
    demo_data: bool = True
    nginx_server_extra: str = ""
    env_extra: dict[str, str] = field(default_factory=dict)
    # The worker's supervision, production's timings by default: started again restart_sec
    # after it exits (gridline-worker.service, RestartSec=), and checked by the watchdog
    # every watchdog_every seconds with watchdog_window seconds of evidence
    # (gridline-worker-watchdog.timer and .service).
    restart_sec: float = 5
    watchdog_every: float = 60
    watchdog_window: float = 60
    # More than one machine's worth: web nodes behind nginx's upstream and worker nodes on the
    # one broker, each with its own process tree and local directories (node_dir). With more
    # than one web node, media go to an S3-compatible bucket (moto's server as the topology's
    # "objects" service), since a node's disk is its own.
    web_nodes: int = 1
    worker_nodes: int = 1
    objects_port: int = 0

    # Paths ----------------------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        return ROOT / "var" / self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def worker_node(self) -> str:
        """The worker's node name, as `-n {name}@%h` makes it."""
        return f"{self.name}@{socket.gethostname()}"

    def node_port(self, node: int) -> int:
        """Web node `node`'s gunicorn: app_port for the first, then http_port + 2 + node
        (http_port + 2 is make bench's second gunicorn, + 9 the purge server)."""
        return self.app_port if node == 1 else self.http_port + 2 + node

    @staticmethod
    def node_service(kind: str, node: int) -> str:
        """ "web", "worker" and "beat" for the first node, "web-2", "worker-2"… after."""
        return kind if node == 1 else f"{kind}-{node}"

    def node_dir(self, node: int) -> Path:
        return self.dir / "nodes" / str(node)

    @property
    def multi_node(self) -> bool:
        return self.web_nodes > 1 or self.worker_nodes > 1

    @property
    def media_bucket(self) -> str:
        return f"{self.name}-media"

    @property
    def purge_port(self) -> int:
        """nginx's loopback purge server (PROXY_PURGE_URL), at the end of the topology's
        range of ten ports (make bench takes http_port + 2 for a second gunicorn)."""
        return self.http_port + 9

    @property
    def office_networks_file(self) -> Path:
        """The ranges of nginx's `geo $gridline_office_network`, written by the application."""
        return self.dir / "run" / "office-networks.conf"

    def _pidfile(self, service: str) -> Path:
        return self.dir / "run" / f"{service}.pid"

    def _logfile(self, service: str) -> Path:
        return self.dir / "logs" / f"{service}.log"

    # Environment ----------------------------------------------------------------------------

    def _secret_key(self) -> str:
        path = self.dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(60))
            path.chmod(0o600)
        return path.read_text().strip()

    def env(self, node: int = 1) -> dict[str, str]:
        """The environment of node `node`'s processes (its gunicorn, worker and beat)."""
        redis = f"redis://127.0.0.1:{self.redis_port}/{self.redis_db}"
        stripe_file = self.dir / "run" / "stripe.address"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "publisher.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": self._secret_key(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.url,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.postgres_port}/{self.database}",
            "REDIS_URL": redis,
            "CELERY_BROKER_URL": redis,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "STRIPE_SECRET_KEY": "sk_test_prodlike_placeholder",
            "STRIPE_WEBHOOK_SECRET": "whsec_prodlike_placeholder",
            "STRIPE_PRICE_MONTHLY": STRIPE_PRICES[0],
            "STRIPE_PRICE_ANNUAL": STRIPE_PRICES[1],
            "STRIPE_PRICE_SEAT": STRIPE_PRICES[2],
            # No TLS on loopback: no redirect to https. Everything else stays as in production.
            "SECURE_SSL_REDIRECT": "false",
            "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
            "PROXY_PURGE_URL": f"http://127.0.0.1:{self.purge_port}",
            # The application rewrites nginx's office networks and reloads it on every change
            # of the ranges (accounts/organisations/networks.py).
            "OFFICE_NETWORKS_NGINX_FILE": str(self.office_networks_file),
            "OFFICE_NETWORKS_NGINX_RELOAD": (
                f"nginx -s reload -c {self.dir / 'nginx.conf'} -p {self.dir}"
            ),
            "GUNICORN_BIND": f"127.0.0.1:{self.node_port(node)}",
            "GUNICORN_ACCESS_LOG": str(self._logfile(self.node_service("gunicorn-access", node))),
            "PYTHONUNBUFFERED": "1",
            **self.env_extra,
        }
        if self.multi_node:
            local = self.node_dir(node)
            env["TMPDIR"] = str(local / "tmp")
            env["MEDIA_ROOT"] = str(local / "media")
        if self.objects_port:
            endpoint = f"http://127.0.0.1:{self.objects_port}"
            env["MEDIA_STORAGE_URL"] = (
                f"s3://{self.media_bucket}?region=eu-west-1&endpoint_url={endpoint}"
            )
            env["AWS_S3_ACCESS_KEY_ID"] = "prodlike-key-id"
            env["AWS_S3_SECRET_ACCESS_KEY"] = "prodlike-secret"  # noqa: S105 - moto takes any
        if self.email_provider:
            api = f"http://127.0.0.1:{self.provider_port}/"
            env["EMAIL_URL"] = f"{self.email_provider}://prodlike-token@?api_url={api}"
            env["ANYMAIL_WEBHOOK_SECRET"] = self.webhook_secret
        if self.stripe_api_base:
            env["STRIPE_API_BASE"] = self.stripe_api_base
        elif stripe_file.exists():
            env["STRIPE_API_BASE"] = stripe_file.read_text().strip()
        # Started from the test suite, the caller's environment holds test-only settings.
        for name in [n for n in env if n.startswith("TEST_")] + ["DJANGO_ALLOW_ASYNC_UNSAFE"]:
            env.pop(name, None)
        return env

    def manage(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return run([str(BIN / "python"), "manage.py", *args], env=self.env(), **kwargs)

    # Processes ------------------------------------------------------------------------------

    def pid(self, service: str) -> int | None:
        """The process id of a running service this topology started, or None."""
        path = self._pidfile(service)
        if not path.exists():
            return None
        pid = int(path.read_text().strip() or 0)
        try:
            os.kill(pid, 0)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            path.unlink(missing_ok=True)
            return None
        if b"\x00" not in cmdline or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            path.unlink(missing_ok=True)
            return None
        return pid

    def _spawn(
        self, service: str, command: list[str], *, port: int | None = None, nice: int = 0,
        node: int = 1,
    ) -> None:  # fmt: skip
        if self.pid(service):
            log(f"{service} is already running (pid {self.pid(service)})")
            return
        if port is not None and port_open(port):
            raise SystemExit(f"Port {port} for {service} is taken by a process we did not start.")
        output = self._logfile(service).open("ab")
        if nice:
            command = ["nice", "-n", str(nice), *command]
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env(node), stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if nice:
            _nice_session(process.pid, nice)
        self._pidfile(service).write_text(str(process.pid))
        log(f"started {service} (pid {process.pid}), log in {self._logfile(service)}")
        if port is not None:
            wait_for(lambda: port_open(port) or process.poll() is not None, timeout=60,
                     what=service)  # fmt: skip
            if process.poll() is not None:
                raise SystemExit(f"{service} exited; see {self._logfile(service)}.")

    def _nginx_conf(self) -> Path:
        nginx = self.dir / "nginx"
        user = ""
        if os.geteuid() == 0:
            # As root, nginx's workers drop to www-data, who must be able to reach the cache
            # under this checkout; a checkout in a private directory (mktemp -d is 0700)
            # keeps them root, or every cached page would be "Permission denied".
            reachable = all(os.stat(p).st_mode & 0o001 for p in nginx.resolve().parents)
            user = "user www-data;\n" if reachable else "user root;\n"
        upstream = "\n".join(
            f"        server 127.0.0.1:{self.node_port(node)} max_fails=1 fail_timeout=5s;"
            for node in range(1, self.web_nodes + 1)
        )
        conf = f"""# Written by deploy/prodlike/run.py: nginx.conf for loopback.
load_module {PURGE_MODULE};
{user}worker_processes auto;
pid {self._pidfile("nginx")};
error_log {self._logfile("nginx-error")} warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens off;
    large_client_header_buffers 4 8k;
    access_log {self._logfile("nginx-access")} combined buffer=256k flush=2s;
    client_body_temp_path {nginx}/client_body;
    proxy_temp_path {nginx}/proxy;
    fastcgi_temp_path {nginx}/fastcgi;
    uwsgi_temp_path {nginx}/uwsgi;
    scgi_temp_path {nginx}/scgi;
    proxy_cache_path {nginx}/cache levels=1:2 keys_zone=gridline_pages:10m
                     max_size=256m inactive=10m use_temp_path=off;
    # As in deploy/nginx.conf: readers from an office range never get a shared page.
    geo $gridline_office_network {{
        default 0;
        include {self.office_networks_file};
    }}
    # Every web node; one that refuses or drops connections is skipped for a few seconds, and
    # an idempotent request it failed is passed to the next (proxy_next_upstream's default).
    upstream gridline_app {{
{upstream}
        keepalive 32;
        keepalive_timeout 4s;
    }}
    # As in deploy/nginx.conf: a Host that is not the site's gets no answer at all. A
    # request line over 8 KB is refused before its Host is read, so this server answers it.
    server {{
        listen 127.0.0.1:{self.http_port} default_server;
        server_name _;
        error_page 414 /_gridline/errors/414.html;
        location / {{
            return 444;
        }}
        location = /_gridline/errors/414.html {{
            internal;
            alias {ROOT / "staticfiles" / "errors" / "414.html"};
        }}
    }}
    server {{
        listen 127.0.0.1:{self.purge_port};
        allow 127.0.0.1;
        deny all;
        location / {{
            proxy_cache_purge gridline_pages $request_uri;
        }}
    }}
    server {{
        listen 127.0.0.1:{self.http_port};
        server_name 127.0.0.1 localhost;
        set $gridline_static {ROOT / "staticfiles"};
        set $gridline_media {ROOT / "var" / "media"};
{self.nginx_server_extra}
        include {ROOT / "deploy" / "nginx-app.conf"};
    }}
}}
"""
        path = self.dir / "nginx.conf"
        path.write_text(conf)
        for sub in ["cache", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"]:
            (nginx / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            run(["chown", "-R", "www-data:www-data", str(nginx)])
        return path

    def _start_nginx(self) -> None:
        conf = self._nginx_conf()
        run(["nginx", "-t", "-q", "-c", str(conf), "-p", str(self.dir)])
        if self.pid("nginx"):
            run(["nginx", "-s", "reload", "-c", str(conf), "-p", str(self.dir)])
            log("nginx was running: configuration reloaded")
            return
        for port in (self.http_port, self.purge_port):
            if port_open(port):
                raise SystemExit(f"Port {port} is taken by a process we did not start.")
        # A fresh start may run new code: no page cached by the previous one.
        for entry in (self.dir / "nginx" / "cache").iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        run(["nginx", "-c", str(conf), "-p", str(self.dir)])
        wait_for(lambda: port_open(self.http_port), timeout=20, what="nginx")
        log(f"started nginx (pid {self.pid('nginx')})")

    # Lifecycle ------------------------------------------------------------------------------

    def prepare(self) -> None:
        ensure_debian_package("nginx", "nginx")
        ensure_debian_package("nginx", "libnginx-mod-http-cache-purge", file=PURGE_MODULE)
        if self.postgres_port == 5432:
            ensure_postgresql()
        if self.redis_port == 6379:
            ensure_redis()
        for sub in ["run", "logs", "mail"]:
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        if self.multi_node:
            for node in range(1, max(self.web_nodes, self.worker_nodes) + 1):
                for sub in ["tmp", "media"]:
                    (self.node_dir(node) / sub).mkdir(parents=True, exist_ok=True)
        if self.objects_port:
            self.start_objects()
        ensure_database(self.database, self.postgres_port)
        log("migrate, collectstatic, check --deploy")
        self.manage("migrate", "--noinput", stdout=subprocess.DEVNULL)
        # Before nginx starts: its geo block includes the file.
        self.manage("office_networks_nginx", "--no-reload", stdout=subprocess.DEVNULL)
        self.manage("collectstatic", "--noinput", stdout=subprocess.DEVNULL)
        # SECURE_SSL_REDIRECT is off on purpose (no TLS on loopback): warnings are expected.
        checked = subprocess.run(
            [str(BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
            cwd=ROOT, env=self.env(), capture_output=True, text=True,
        )  # fmt: skip
        if checked.returncode:
            raise SystemExit(f"check --deploy failed:\n{checked.stdout}{checked.stderr}")
        if self.demo_data:
            self.manage("load_demo_data")

    def start(self) -> None:
        self.prepare()
        if self.email_provider:
            self.start_providers()
        else:
            self.start_smtp()
        if not self.stripe_api_base:
            self.start_stripe()
        for node in range(1, self.web_nodes + 1):
            self.start_web(node)
        for node in range(1, self.worker_nodes + 1):
            self.start_worker(node)
        self.start_beat()
        self.start_supervisor()
        self._start_nginx()
        wait_for(self.healthy, timeout=30, what=f"{self.url}/healthz")

    def start_web(self, node: int = 1) -> None:
        self._spawn(
            self.node_service("web", node),
            [str(BIN / "gunicorn"), "publisher.wsgi", "--config", "deploy/gunicorn.conf.py"],
            port=self.node_port(node), node=node,
        )  # fmt: skip

    def start_beat(self, node: int = 1) -> None:
        """A beat on node `node`. However many run, one holds the schedule's lock in Redis
        and sends it (publisher/beat.py); the others wait."""
        self._spawn(self.node_service("beat", node), [
            str(BIN / "celery"), "-A", "publisher", "beat", "--loglevel", "INFO",
        ], node=node)  # fmt: skip

    def start_objects(self) -> None:
        """An S3-compatible server (moto's) with the media bucket, public-read as
        deploy/README.md sets a bucket up; it stands in for object storage elsewhere."""
        self._spawn("objects", [
            str(BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1",
            "-p", str(self.objects_port),
        ], port=self.objects_port, nice=self.smtp_nice)  # fmt: skip
        import boto3

        client = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{self.objects_port}", region_name="eu-west-1",
            aws_access_key_id="prodlike-key-id", aws_secret_access_key="prodlike-secret",  # noqa: S106
        )  # fmt: skip
        if self.media_bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            client.create_bucket(
                Bucket=self.media_bucket,
                CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
            )
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{self.media_bucket}/*",
        }]}  # fmt: skip
        client.put_bucket_policy(Bucket=self.media_bucket, Policy=json.dumps(policy))

    def start_smtp(self) -> None:
        python = str(BIN / "python")
        here = str(Path(__file__).resolve().parent)
        sink = [python, f"{here}/smtp_sink.py", "--port", str(self.smtp_port),
                "--dir", str(self.dir / "mail")]  # fmt: skip
        self._spawn("smtp", sink + (["--keep-bodies"] if self.keep_mail_bodies else []),
                    port=self.smtp_port, nice=self.smtp_nice)  # fmt: skip

    def start_providers(self) -> None:
        """The providers' fake on its port; it counts what it accepts (GET /_fake/sent)."""
        if self.email_provider not in EMAIL_PROVIDERS:
            known = ", ".join(EMAIL_PROVIDERS)
            raise SystemExit(f"No fake for the email provider {self.email_provider!r} ({known}).")
        # At the SMTP sink's nice value: both stand in for services on other machines.
        self._spawn("providers", [
            str(BIN / "python"), "-m", "tests.support.providers_fake", str(self.provider_port),
        ], port=self.provider_port, nice=self.smtp_nice)  # fmt: skip

    def start_stripe(self) -> None:
        here = str(Path(__file__).resolve().parent)
        env = self.env()
        address = self.dir / "run" / "stripe.address"
        if not self.pid("stripe"):
            address.unlink(missing_ok=True)
        self._spawn("stripe", [
            str(BIN / "python"), f"{here}/stripe_fake_server.py",
            "--api-key", env["STRIPE_SECRET_KEY"],
            "--webhook-url", f"{self.url}/stripe/webhook/",
            "--webhook-secret", env["STRIPE_WEBHOOK_SECRET"], "--address-file", str(address),
            *[arg for price in STRIPE_PRICES for arg in ("--price", price)],
        ])  # fmt: skip
        wait_for(address.exists, timeout=20, what="the fake Stripe")

    def start_worker(self, node: int = 1) -> None:
        # As in deploy/systemd/gridline-worker.service: the worker yields the CPU to the web.
        name = self.name if node == 1 else f"{self.name}-{node}"
        self._spawn(self.node_service("worker", node), [
            str(BIN / "celery"), "-A", "publisher", "worker",
            "--loglevel", "INFO", "--concurrency", "2", "--without-gossip", "--without-mingle",
            "-n", f"{name}@%h",
        ], nice=10, node=node)  # fmt: skip

    def start_supervisor(self) -> None:
        """The worker's supervisor (`supervise_worker`), a process of its own that reads this
        topology back from a file, as systemd reads its units."""
        config = self.dir / "run" / "topology.json"
        config.write_text(json.dumps(dataclasses.asdict(self)))
        self._spawn("supervisor", [
            str(BIN / "python"), str(Path(__file__).resolve()), "supervise-worker",
            "--topology", str(config),
        ])  # fmt: skip

    def check_worker(self) -> subprocess.Popen:
        """Start the watchdog's check of the worker, the command its systemd timer runs (exit
        status 1: restart the worker), niced as there. Its output goes to the caller's log."""
        return subprocess.Popen(
            ["nice", "-n", "10", str(BIN / "python"), "-m", "publisher.worker_watchdog",
             "--node", self.worker_node, "--window", str(self.watchdog_window)],
            cwd=ROOT, env=self.env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def services(self) -> list[str]:
        """Every service this topology may have started, the supervisor first (or it would
        start a worker again), the nodes' beats, workers and web after nginx."""
        nodes = range(1, 5)  # started on demand too (a second beat), so every possible node
        return [
            "supervisor", "nginx",
            *[self.node_service(kind, n) for kind in ("beat", "worker", "web") for n in nodes],
            "stripe", "smtp", "providers", "objects",
        ]  # fmt: skip

    def stop(self, services: list[str] | None = None) -> None:
        for service in services or self.services():
            pid = self.pid(service)
            if pid is None:
                continue
            if service == "nginx":
                os.kill(pid, signal.SIGQUIT)  # graceful: finish the requests in flight
            else:
                os.killpg(pid, signal.SIGTERM)  # the group start_new_session gave it
            deadline = time.monotonic() + 60
            while self.pid(service) and time.monotonic() < deadline:
                time.sleep(0.2)
            if self.pid(service):
                os.killpg(pid, signal.SIGKILL)
            self._pidfile(service).unlink(missing_ok=True)
            log(f"stopped {service} (pid {pid})")

    def kill(self, service: str) -> None:
        """SIGKILL a service's whole process group (a crash, an OOM kill): nothing runs its
        shutdown code. The fault suite uses it; `stop` is the graceful way."""
        pid = self.pid(service)
        if pid is None:
            raise RuntimeError(f"{service} is not running")
        os.killpg(pid, signal.SIGKILL)
        wait_for(lambda: self.pid(service) is None, timeout=30, what=f"{service} to die")
        self._pidfile(service).unlink(missing_ok=True)
        log(f"killed {service} (pid {pid})")

    def status(self) -> dict[str, int | None]:
        return {service: self.pid(service) for service in self.services()}


def supervise_worker(topology: Topology) -> None:
    """What systemd does for the worker in production, for as long as this process runs: start
    the worker again `restart_sec` after it exits, whatever the reason (Restart=always), and
    restart it when the watchdog finds it alive but stuck (the timer's units). The check runs
    beside the loop, as the timer's unit runs beside the worker's, so that an exit is noticed
    while a check is under way. SIGTERM or SIGINT ends the supervision, not the worker:
    `Topology.stop` stops the supervisor first."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    check: subprocess.Popen | None = None
    next_check = time.monotonic() + topology.watchdog_every
    while not stopping.wait(1):
        # The other worker nodes are started again when they exit; the watchdog watches the
        # first.
        for node in range(2, topology.worker_nodes + 1):
            if topology.pid(topology.node_service("worker", node)) is None:
                log(f"worker {node} is not running: starting it")
                topology.start_worker(node)
        if topology.pid("worker") is None:
            if check is not None:  # its verdict would be about the worker that exited
                check.terminate()
                check.wait()
                check = None
            log(f"the worker is not running: starting it in {topology.restart_sec:g} s")
            if stopping.wait(topology.restart_sec):
                break
            topology.start_worker()
            next_check = time.monotonic() + topology.watchdog_every
        elif check is not None:
            if check.poll() is None:
                continue
            stuck, check = check.returncode == 1, None
            next_check = time.monotonic() + topology.watchdog_every
            if stuck:
                log("the watchdog found the worker stuck: restarting it")
                topology.stop(["worker"])
                if not stopping.is_set():
                    topology.start_worker()
        elif time.monotonic() >= next_check:
            check = topology.check_worker()
    if check is not None:
        check.terminate()
        check.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status", "supervise-worker"])
    parser.add_argument("--topology", type=Path, help="supervise-worker: the topology's file")
    parser.add_argument(
        "--email-provider", choices=EMAIL_PROVIDERS, default="",
        help="start: send mail through this provider's API, to the local fake (default: SMTP)",
    )  # fmt: skip
    parser.add_argument("--web-nodes", type=int, choices=range(1, 5), default=1,
                        help="start: gunicorn nodes behind nginx's upstream")  # fmt: skip
    parser.add_argument("--worker-nodes", type=int, choices=range(1, 5), default=1,
                        help="start: Celery worker nodes on the broker")  # fmt: skip
    args = parser.parse_args()
    if args.action == "supervise-worker":
        supervise_worker(Topology(**json.loads(args.topology.read_text())))
        return
    topology = Topology(
        email_provider=args.email_provider, web_nodes=args.web_nodes,
        worker_nodes=args.worker_nodes,
        # A node's disk is its own: with several, pictures go to a local S3-compatible bucket.
        objects_port=8427 if args.web_nodes > 1 or args.worker_nodes > 1 else 0,
    )  # fmt: skip
    if args.action == "stop":
        topology.stop()
        print("Stopped. PostgreSQL and Redis, which belong to the machine, keep running.")
        return
    if args.action == "status":
        for service, pid in topology.status().items():
            if pid or "-" not in service:  # the other nodes' services only when running
                print(f"{service:10} {'running, pid ' + str(pid) if pid else 'stopped'}")
        return
    topology.start()
    mail = f"Emails land in {topology.dir / 'mail'} (one .eml each)."
    if topology.email_provider:
        mail = (
            f"Emails go through {topology.email_provider}'s API to its fake on port"
            f" {topology.provider_port}\n  (GET /_fake/sent counts them); post its events to"
            f" {topology.url}/anymail/{topology.email_provider}/tracking/\n  with basic auth"
            f" {topology.webhook_secret}."
        )
    nodes = ", ".join(str(topology.node_port(n)) for n in range(1, topology.web_nodes + 1))
    workers = f"s on {topology.worker_nodes} nodes" if topology.worker_nodes > 1 else ""
    if topology.objects_port:
        bucket = f"{topology.media_bucket} (moto, port {topology.objects_port})"
        mail += f"\n  Pictures in the bucket {bucket}."
    print(f"""
  Gridline Research runs with production settings at {topology.url}/
  nginx {topology.http_port} -> gunicorn {nodes}; Celery worker{workers} (2 processes
  each) and beat;
  PostgreSQL database {topology.database}; Redis database {topology.redis_db}.
  Demo logins (password demo-password-2026): editor@example.com, subscriber@example.com,
  reader@example.com. {mail}
  Logs: {topology.dir / "logs"}. No TLS on loopback, so SECURE_SSL_REDIRECT is off.
  Stop it with: make prodlike-stop
""")


if __name__ == "__main__":
    main()
