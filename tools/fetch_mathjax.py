"""Put MathJax into the site (``_vendor/mathjax``, copied to the site's ``_static``), so the book's equations render without a CDN: offline, from an
archived copy, behind a firewall. Fetched once from the npm registry, checked against the registry's sha512, and
unpacked: the TeX-to-HTML bundle, its fonts and the TeX extensions it may load on demand (about 2 MB).
Usage: ``python tools/fetch_mathjax.py`` (``make book`` and ``make test`` run it)."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "_vendor" / "mathjax"  # not under _static: Jupyter Book would load every .js file found there
VERSION = "3.2.2"
TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{VERSION}.tgz"
INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
KEEP = ("tex-chtml.js", "output/chtml/fonts/woff-v2/", "input/tex/extensions/")  # under package/es5/


def verified(payload: bytes) -> bytes:
    digest = "sha512-" + base64.b64encode(hashlib.sha512(payload).digest()).decode()
    if digest != INTEGRITY:
        raise SystemExit(f"mathjax {VERSION}: the download does not match the registry's checksum")
    return payload


def unpack(payload: bytes, target: Path) -> int:
    """Extract the kept files of ``package/es5`` into ``target``; return how many."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    count = 0
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/es5/")
            if member.isfile() and name != member.name and name.startswith(KEEP):
                destination = staging / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.extractfile(member).read())
                count += 1
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return count


def main() -> int:
    if (TARGET / "tex-chtml.js").exists():
        return 0
    try:
        with urllib.request.urlopen(TARBALL, timeout=60) as response:
            payload = verified(response.read())
    except OSError as error:
        print(f"could not fetch MathJax {VERSION} from the npm registry ({error}); the site needs it to show "
              "equations", file=sys.stderr)
        return 1
    print(f"MathJax {VERSION}: {unpack(payload, TARGET)} files in {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
