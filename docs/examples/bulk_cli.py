"""`dashscope-embeddings embed`: a JSONL corpus into Parquet, stopped halfway with Ctrl-C and finished by the same
command.

The command is run here as a user would from a shell; the key comes from DASHSCOPE_API_KEY and
DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

work = Path(tempfile.mkdtemp())
corpus, output = work / "corpus.jsonl", work / "vectors.parquet"
with corpus.open("w") as file:
    for i in range(20_000):
        file.write(json.dumps({"doc_id": f"doc-{i:05d}", "body": f"Passage {i} about topic {i % 97}."}) + "\n")

command = [
    *(sys.executable, "-m", "dashscope_embeddings.cli"),  # the `dashscope-embeddings` command
    *("embed", str(corpus), "-o", str(output), "--field", "body", "--id-field", "doc_id", "--dimension", "256"),
]

first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.5)
first.send_signal(signal.SIGINT)  # Ctrl-C
print(first.communicate()[1].strip().splitlines()[-1])

second = subprocess.run(command, capture_output=True, text=True, check=True)
print(second.stderr.strip().splitlines()[0])
print(second.stdout.strip())

table = pq.read_table(output)
print(table.schema.to_string(show_schema_metadata=False))
print(f"{table.num_rows:,} rows; first id {table['id'][0]}, last id {table['id'][-1]}")
