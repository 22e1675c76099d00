"""Upload throughput and memory of the gateway, against a direct S3 upload.

Run from the repository root (`make bench`). The bench starts a moto server, makes a
throwaway PostgreSQL database, migrates it and starts the real gateway as a
subprocess. For each size it streams a generated CSV file from disk to
`POST /datasets/upload` while a thread samples the gateway's resident memory, and
sends the same file straight to the same moto server with aiobotocore's multipart
upload, using the gateway's part size and concurrency; the two take turns going first.

moto is slow on large bodies and the machine is small, so absolute speeds mean
little; the ratio of the two speeds measured in the same run is what the targets
judge, together with how much the gateway's peak memory grows with the file size.
Single runs vary widely on a shared machine, hence medians over `--repeat` runs.
Every subprocess is stopped and the database dropped on the way out, whatever
happened (SIGTERM included); every wait has a deadline.
"""

import argparse
import asyncio
import itertools
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import httpx
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.moto_server import AWS_TEST_ENV, MotoServer, free_port  # noqa: E402

MIB = 1 << 20
DEFAULT_SIZES_MIB = "10,100,1024"
WARM_UP_MIB = 10
PART_SIZE_BYTES = 8 * MIB
CONCURRENCY = 4
STREAM_CHUNK_BYTES = 256 << 10
RSS_SAMPLE_SECONDS = 0.02
RATIO_TARGET = 0.80
RSS_GROWTH_TARGET_MIB = 64.0
SLOWEST_MIB_PER_SECOND = 0.5
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BUCKET = "bench"
DEPARTMENT = "Sales"
GATEWAY = ROOT / ".venv" / "bin" / "aetherflow-gateway"
RESULTS_DIR = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Run:
    size_mib: int
    gateway_mib_s: float
    direct_mib_s: float
    rss_before_mib: float
    rss_peak_mib: float
    gateway_cpu_seconds: float
    direct_complete_seconds: float

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_peak_mib - self.rss_before_mib

    @property
    def ratio(self) -> float:
        return self.gateway_mib_s / self.direct_mib_s


@dataclass(frozen=True)
class Row:
    size_mib: int
    gateway_mib_s: float
    direct_mib_s: float
    ratio: float
    rss_peak_mib: float
    rss_growth_mib: float


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    target: str
    passed: bool


def main() -> int:
    arguments = _parser().parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",") if size.strip()]
    os.environ.update(AWS_TEST_ENV)
    # Turn SIGTERM into an exception, so that the clean-up below runs for it too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        print("writing the CSV files", flush=True)
        files = {size: _csv_file(workdir, size) for size in {WARM_UP_MIB, *sizes}}
        print("starting moto, PostgreSQL database and gateway", flush=True)
        moto = stack.enter_context(_moto_server())
        env = _gateway_env(stack, moto.url, arguments)
        gateway = stack.enter_context(_gateway(env))
        runs = _measure_all(gateway, moto.url, files, sizes, arguments)

    rows = _summarize(runs, sizes)
    checks = _checks(rows)
    _print_report(rows, checks, arguments)
    _write_json(rows, checks, runs, arguments)
    failed = any(not check.passed for check in checks)
    return 1 if failed and arguments.strict else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES_MIB, help="MiB, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size")
    parser.add_argument("--part-size-mib", type=int, default=PART_SIZE_BYTES // MIB)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--strict", action="store_true", help="exit 1 on a FAIL")
    return parser


# --- the files ---------------------------------------------------------------------


def _csv_file(directory: Path, size_mib: int) -> Path:
    """A CSV file of exactly `size_mib` MiB: a header and rows, ending in a newline."""
    path = directory / f"sales-{size_mib}mib.csv"
    block = _csv_block()
    remaining = size_mib * MIB
    with path.open("wb") as file:
        header = b"order_id,region,product,quantity,amount,ordered_at\n"
        file.write(header)
        remaining -= len(header)
        while remaining > 0:
            piece = block[:remaining]
            file.write(piece)
            remaining -= len(piece)
    with path.open("r+b") as file:
        file.seek(-1, os.SEEK_END)
        file.write(b"\n")
    return path


def _csv_block() -> bytes:
    regions = ("north", "south", "east", "west")
    rows = (
        f"{n},{regions[n % 4]},sku-{n % 997:04d},{n % 50 + 1},"
        f"{n * 7919 % 100000 / 100},2024-01-{n % 28 + 1:02d}T{n % 24:02d}:00:00Z\n"
        for n in range(1, 30000)
    )
    text = "".join(rows).encode()
    return text[: text.rindex(b"\n", 0, MIB) + 1]


# --- the services ------------------------------------------------------------------


@contextmanager
def _moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        process = server.process
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            if process is not None:
                _stop(process)


def _gateway_env(
    stack: ExitStack, moto_url: str, arguments: argparse.Namespace
) -> dict[str, str]:
    """Create the bucket, queues and database, and the environment naming them."""
    sqs = boto3.client("sqs", endpoint_url=moto_url)
    boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket=BUCKET)
    queues = {
        name: sqs.create_queue(QueueName=f"bench-{name}")["QueueUrl"]
        for name in ("etl", "ml")
    }
    database = stack.enter_context(_throwaway_database())
    return {
        **os.environ,
        "AETHERFLOW_DATABASE_URL": database,
        "AETHERFLOW_STORAGE_URL": f"s3://{BUCKET}/bench",
        "AETHERFLOW_S3_ENDPOINT_URL": moto_url,
        "AETHERFLOW_SQS_ENDPOINT_URL": moto_url,
        "AETHERFLOW_ETL_QUEUE_URL": queues["etl"],
        "AETHERFLOW_ML_QUEUE_URL": queues["ml"],
        "AETHERFLOW_JWT_SECRET": secrets.token_urlsafe(48),
        "AETHERFLOW_MAX_UPLOAD_BYTES": str(4 << 30),
        "AETHERFLOW_S3_PART_SIZE_BYTES": str(arguments.part_size_mib * MIB),
        "AETHERFLOW_S3_UPLOAD_CONCURRENCY": str(arguments.concurrency),
        "AETHERFLOW_LOG_LEVEL": "WARNING",
        # moto dates every multipart upload in 2010, so a sweep during the run
        # would take the upload in flight for a stale one and abort it.
        "AETHERFLOW_SWEEP_INTERVAL_SECONDS": "86400",
        # Outside the embedded mode registration may default to invitations only.
        "AETHERFLOW_REGISTRATION": "open",
    }


@contextmanager
def _throwaway_database() -> Iterator[str]:
    name = f"aetherflow_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN, timeout=10)
    try:
        await connection.execute(statement, timeout=30)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Gateway:
    url: str
    pid: int
    token: str


@contextmanager
def _gateway(env: dict[str, str]) -> Iterator[Gateway]:
    """Migrate, serve and log in; the log goes to bench/results/gateway.log."""
    subprocess.run([GATEWAY, "migrate"], env=env, check=True, timeout=120)
    port = free_port()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with (RESULTS_DIR / "gateway.log").open("wb") as log:
        process = subprocess.Popen(
            [GATEWAY, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_live(url, process)
            yield Gateway(url=url, pid=process.pid, token=_log_in(url))
        finally:
            _stop(process)


def _wait_until_live(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}")
        try:
            httpx.get(f"{url}/health", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the gateway did not start within 30 s")


def _log_in(url: str) -> str:
    credentials = {
        "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
        "password": secrets.token_urlsafe(24),
    }
    with httpx.Client(base_url=url, timeout=30) as client:
        registered = client.post(
            "/auth/register", json={**credentials, "department": DEPARTMENT}
        )
        registered.raise_for_status()
        response = client.post("/auth/login", json=credentials)
        response.raise_for_status()
    return str(response.json()["access_token"])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# --- the measurements --------------------------------------------------------------


def _measure_all(
    gateway: Gateway,
    moto_url: str,
    files: dict[int, Path],
    sizes: list[int],
    arguments: argparse.Namespace,
) -> list[Run]:
    s3 = boto3.client("s3", endpoint_url=moto_url)
    _upload_through_gateway(gateway, files[WARM_UP_MIB])
    _delete_everything(s3)

    runs = []
    for size in sizes:
        for attempt in range(arguments.repeat):
            # Alternate which upload goes first, so neither always meets a moto
            # that is still freeing the previous object.
            first = attempt % 2 == 1
            run = _measure(gateway, s3, moto_url, files[size], arguments, first)
            print(_progress_line(run), flush=True)
            runs.append(run)
    return runs


@dataclass(frozen=True)
class DirectUpload:
    seconds: float
    complete_seconds: float


@dataclass(frozen=True)
class GatewayUpload:
    seconds: float
    rss_before_bytes: int
    rss_peak_bytes: int
    cpu_seconds: float


def _measure(
    gateway: Gateway,
    s3: Any,
    moto_url: str,
    path: Path,
    arguments: argparse.Namespace,
    direct_first: bool,
) -> Run:
    direct = DirectUpload(0.0, 0.0)
    if direct_first:
        direct = _time_direct_upload(s3, moto_url, path, arguments)
    measured = _measure_gateway_upload(s3, gateway, path)
    if not direct_first:
        direct = _time_direct_upload(s3, moto_url, path, arguments)

    size_mib = path.stat().st_size / MIB
    return Run(
        size_mib=round(size_mib),
        gateway_mib_s=size_mib / measured.seconds,
        direct_mib_s=size_mib / direct.seconds,
        rss_before_mib=measured.rss_before_bytes / MIB,
        rss_peak_mib=measured.rss_peak_bytes / MIB,
        gateway_cpu_seconds=measured.cpu_seconds,
        direct_complete_seconds=direct.complete_seconds,
    )


def _measure_gateway_upload(s3: Any, gateway: Gateway, path: Path) -> GatewayUpload:
    rss_before = _rss_bytes(gateway.pid)
    cpu_before = _cpu_seconds(gateway.pid)
    with _peak_rss(gateway.pid) as samples:
        seconds = _upload_through_gateway(gateway, path)
    cpu = _cpu_seconds(gateway.pid) - cpu_before
    _delete_everything(s3)
    return GatewayUpload(seconds, rss_before, max(samples), cpu)


def _time_direct_upload(
    s3: Any, moto_url: str, path: Path, arguments: argparse.Namespace
) -> DirectUpload:
    part_size = arguments.part_size_mib * MIB
    measured = asyncio.run(
        _upload_directly(moto_url, path, part_size, arguments.concurrency)
    )
    _delete_everything(s3)
    return measured


def _upload_through_gateway(gateway: Gateway, path: Path) -> float:
    boundary = secrets.token_hex(16)
    deadline = time.monotonic() + _seconds_allowed(path)
    body, length = _multipart_body(path, boundary, deadline)
    headers = {
        "Authorization": f"Bearer {gateway.token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    with httpx.Client(base_url=gateway.url, timeout=120) as client:
        started = time.perf_counter()
        response = client.post("/datasets/upload", content=body, headers=headers)
        seconds = time.perf_counter() - started
    if response.status_code != httpx.codes.ACCEPTED:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    return seconds


def _multipart_body(
    path: Path, boundary: str, deadline: float
) -> tuple[Iterator[bytes], int]:
    """The form as a stream read from disk, and its length for `Content-Length`."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="department"\r\n\r\n{DEPARTMENT}\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as file:
            while block := file.read(STREAM_CHUNK_BYTES):
                if time.monotonic() > deadline:
                    raise TimeoutError("the upload took longer than its deadline")
                yield block
        yield tail

    return chunks(), len(head) + path.stat().st_size + len(tail)


async def _upload_directly(
    moto_url: str, path: Path, part_size: int, concurrency: int
) -> DirectUpload:
    config = AioConfig(max_pool_connections=max(10, concurrency))
    session = get_session()
    async with session.create_client("s3", endpoint_url=moto_url, config=config) as s3:
        started = time.perf_counter()
        async with asyncio.timeout(_seconds_allowed(path)):
            complete_seconds = await _multipart_upload(s3, path, part_size, concurrency)
        return DirectUpload(time.perf_counter() - started, complete_seconds)


async def _multipart_upload(
    s3: S3Client, path: Path, part_size: int, limit: int
) -> float:
    """Send the file in parts, `limit` at most in flight; time the completion."""
    key = f"direct/{path.name}"
    created = await s3.create_multipart_upload(
        Bucket=BUCKET, Key=key, ContentType="text/csv"
    )
    upload_id = created["UploadId"]
    slots = asyncio.Semaphore(limit)

    async def send(number: int, body: bytes) -> CompletedPartTypeDef:
        try:
            response = await s3.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
        finally:
            slots.release()
        return {"ETag": response["ETag"], "PartNumber": number}

    sending = []
    with path.open("rb") as file:
        for number in itertools.count(1):
            await slots.acquire()
            body = await asyncio.to_thread(file.read, part_size)
            if not body:
                break
            sending.append(asyncio.create_task(send(number, body)))
    parts = await asyncio.gather(*sending)
    started = time.perf_counter()
    await s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    return time.perf_counter() - started


def _seconds_allowed(path: Path) -> float:
    return 60 + path.stat().st_size / MIB / SLOWEST_MIB_PER_SECOND


def _delete_everything(s3: Any) -> None:
    listing = s3.list_objects_v2(Bucket=BUCKET)
    for item in listing.get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])


# --- resident memory ---------------------------------------------------------------


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _cpu_seconds(pid: int) -> float:
    """User and system time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may hold spaces; the fields after it are plain.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _peak_rss(pid: int) -> Iterator[list[int]]:
    """Sample the process's RSS every 20 ms until the block ends; yield the samples."""
    samples = [_rss_bytes(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(RSS_SAMPLE_SECONDS):
            samples.append(_rss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        stop.set()
        sampler.join(timeout=5)
        samples.append(_rss_bytes(pid))


# --- the report --------------------------------------------------------------------


def _summarize(runs: list[Run], sizes: list[int]) -> list[Row]:
    """One row per size: medians, and the highest memory seen.

    The ratio is the median of each run's own ratio: the two uploads of a run are
    neighbours in time, so a change in the machine's load touches both alike.
    """
    rows = []
    for size in sizes:
        of_size = [run for run in runs if run.size_mib == size]
        rows.append(
            Row(
                size_mib=size,
                gateway_mib_s=statistics.median(run.gateway_mib_s for run in of_size),
                direct_mib_s=statistics.median(run.direct_mib_s for run in of_size),
                ratio=statistics.median(run.ratio for run in of_size),
                rss_peak_mib=max(run.rss_peak_mib for run in of_size),
                rss_growth_mib=max(run.rss_growth_mib for run in of_size),
            )
        )
    return rows


def _checks(rows: list[Row]) -> list[Check]:
    checks = [
        Check(
            name=f"ratio gateway/direct at {_size_label(row.size_mib)}",
            value=row.ratio,
            target=f">= {RATIO_TARGET:.2f}",
            passed=row.ratio >= RATIO_TARGET,
        )
        for row in rows
    ]
    smallest = min(rows, key=lambda row: row.size_mib)
    largest = max(rows, key=lambda row: row.size_mib)
    if largest.size_mib > smallest.size_mib:
        growth = largest.rss_peak_mib - smallest.rss_peak_mib
        checks.append(
            Check(
                name=(
                    f"peak RSS({_size_label(largest.size_mib)})"
                    f" - peak RSS({_size_label(smallest.size_mib)})"
                ),
                value=growth,
                target=f"<= {RSS_GROWTH_TARGET_MIB:.0f} MiB",
                passed=growth <= RSS_GROWTH_TARGET_MIB,
            )
        )
    return checks


def _print_report(
    rows: list[Row], checks: list[Check], arguments: argparse.Namespace
) -> None:
    print()
    print(
        f"part size {arguments.part_size_mib} MiB, concurrency "
        f"{arguments.concurrency}, {arguments.repeat} run(s) per size; medians, "
        "the ratio as the median of each run's own ratio"
    )
    print(
        f"{'size':>8}  {'gateway MiB/s':>13}  {'direct MiB/s':>12}  {'ratio':>6}"
        f"  {'peak RSS MiB':>12}  {'RSS growth MiB':>14}"
    )
    for row in rows:
        print(
            f"{_size_label(row.size_mib):>8}  {row.gateway_mib_s:>13.1f}"
            f"  {row.direct_mib_s:>12.1f}  {row.ratio:>6.2f}"
            f"  {row.rss_peak_mib:>12.1f}  {row.rss_growth_mib:>14.1f}"
        )
    print()
    for check in checks:
        verdict = "PASS" if check.passed else "FAIL"
        print(f"{verdict}  {check.name} = {check.value:.2f} (target {check.target})")


def _progress_line(run: Run) -> str:
    return (
        f"{_size_label(run.size_mib)}: gateway {run.gateway_mib_s:.1f} MiB/s, "
        f"direct {run.direct_mib_s:.1f} MiB/s (moto completing "
        f"{run.direct_complete_seconds:.1f} s), ratio {run.ratio:.2f}, "
        f"peak RSS {run.rss_peak_mib:.1f} MiB (+{run.rss_growth_mib:.1f}), "
        f"gateway CPU {run.gateway_cpu_seconds:.1f} s"
    )


def _size_label(size_mib: int) -> str:
    return f"{size_mib // 1024} GiB" if size_mib % 1024 == 0 else f"{size_mib} MiB"


def _write_json(
    rows: list[Row], checks: list[Check], runs: list[Run], arguments: argparse.Namespace
) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"upload-{stamp}.json"
    document = {
        "settings": {
            "part_size_mib": arguments.part_size_mib,
            "concurrency": arguments.concurrency,
            "repeat": arguments.repeat,
            "cpus": os.cpu_count(),
        },
        "rows": [asdict(row) for row in rows],
        "checks": [asdict(check) for check in checks],
        "runs": [
            {**asdict(run), "rss_growth_mib": run.rss_growth_mib, "ratio": run.ratio}
            for run in runs
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
