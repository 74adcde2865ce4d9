"""What a pool of N talents costs in memory with W worker processes, before anything is loaded.

Why: at a million talents every worker holds gigabytes; started with more workers than the machine holds,
the kernel kills one of them minutes later, with no message (seen: two workers building at 1M, 15.5 GiB,
then a scan each). ``matcher serve`` asks this estimate first and refuses a worker count that cannot fit,
with the numbers.

The parts, per talent, from measurements on this project's pools (``benchmarks/http_bench.py``,
``matcher bench``; README "Speed"):

- shared once per machine (memory-mapped files, ``engine/index.py`` and ``engine/neighbours.py``): the
  vectors (dim × 4 bytes) and the neighbour table (graph_k × 8 + 8 bytes);
- private in every worker: the talent's facts and text (Python objects), the filter columns, the position
  maps, the HNSW graph (read into memory even when the vectors are mapped: ≈ 2·M × 4 bytes), and the
  lexical index: a TF-IDF row of ≈ 700 character n-grams twice (rows and columns) while the pool is at
  most ``lexical_max_indexed``, only the vocabulary above (candidates are then scored from their texts);
- the worker itself: Python, PyTorch/ONNX and the model (``RUNTIME_MIB``);
- the build: the process that builds holds the new vectors privately until they are saved and mapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
#: A worker's own memory with the model loaded and no pool (measured: 1,042–1,055 MiB per demo worker).
RUNTIME_MIB = 1100.0
#: Facts and text of one talent in a worker, with what serving adds per talent (allocator slack): 1.2 KiB
#: of facts measured at 1M, ≈ 1.4 KiB per talent beside the runtime after a load run (docs/scaling.md).
FACTS_BYTES = 1500
#: The TF-IDF row of an indexed talent, rows and columns (≈ 700 n-grams × (4 + 4) bytes × 2).
LEXICAL_BYTES = 11_000
#: Share of the machine's available memory a plan may take (the page cache and the OS keep the rest).
HEADROOM = 0.9


@dataclass(frozen=True)
class MemoryPlan:
    """The estimate for one pool size and worker count, in MiB, against what the machine has."""

    talents: int
    workers: int
    shared_mib: float
    per_worker_mib: float
    build_mib: float
    available_mib: float

    @property
    def total_mib(self) -> float:
        return self.shared_mib + self.workers * self.per_worker_mib + self.build_mib

    @property
    def fits(self) -> bool:
        return self.total_mib <= HEADROOM * self.available_mib

    @property
    def most_workers(self) -> int:
        """The most workers this pool fits with (0: not even one)."""
        room = HEADROOM * self.available_mib - self.shared_mib - self.build_mib
        return max(0, int(room // self.per_worker_mib)) if self.per_worker_mib > 0 else 0

    def explain(self) -> str:
        gib = 1024.0
        return (f"{self.workers} worker(s) for {self.talents:,} talents need about {self.total_mib / gib:.1f} GiB: "
                f"{self.shared_mib / gib:.1f} GiB shared (mapped vectors and neighbour table) + {self.workers} × "
                f"{self.per_worker_mib / gib:.1f} GiB per worker (model, facts, lexical index, graph)"
                + (f" + {self.build_mib / gib:.1f} GiB while the index is built" if self.build_mib else "")
                + f"; this machine has {self.available_mib / gib:.1f} GiB available "
                f"(a plan may take {HEADROOM:.0%}): at most {self.most_workers} worker(s) fit")


def estimate(talents: int, workers: int, *, dim: int = 384, kind: str = "flat", hnsw_m: int = 32,
             graph_k: int = 10, lexical_max_indexed: int = 300_000, building: bool = False,
             available_mib: float | None = None) -> MemoryPlan:
    """The memory plan of ``workers`` processes serving ``talents`` (``building``: no saved index yet)."""
    shared = talents * (dim * 4 + graph_k * 8 + 8) / MIB
    private = FACTS_BYTES + 8 * 3  # facts + position maps (id → position, position → id, alive)
    if kind == "hnsw":
        private += 2 * hnsw_m * 4 + 16  # level-0 links and the upper levels' share
    if talents <= lexical_max_indexed:
        private += LEXICAL_BYTES
    per_worker = RUNTIME_MIB + talents * private / MIB
    build = talents * dim * 4 * 2 / MIB if building else 0.0  # encoded vectors + the index's own copy
    return MemoryPlan(talents=talents, workers=workers, shared_mib=shared, per_worker_mib=per_worker,
                      build_mib=build, available_mib=available() if available_mib is None else available_mib)


def available(meminfo: Path = Path("/proc/meminfo")) -> float:
    """The machine's available memory in MiB (``MemAvailable``; what a new process can take without
    swapping); without /proc, infinity (the check then passes)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("inf")


def release_free_heap() -> bool:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``); False where there is none.

    Why: a build at 1M allocates gigabytes of temporary arrays (the encoded vectors, the neighbour rows)
    and a duplicate scan hundreds of MiB of candidate pairs; once freed, glibc keeps most of them mapped in
    the process, so the worker that built or scanned stayed ≈ 2.5 GiB above the one that loaded (measured
    at 1M: RSS 6.9 against 4.2 GiB). Called after a build and after each job, never on a request."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False
