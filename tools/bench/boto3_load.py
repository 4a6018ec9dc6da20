"""The boto3 baseline for the DynamoDB load benchmark: the bundled price history written with
`Table.batch_writer()` (boto3's recommended bulk path) into DynamoDB Local.

    pip install boto3 && python3 tools/bench/boto3_load.py http://127.0.0.1:PORT
"""

import csv
import gzip
import os
import pathlib
import sys
import time
from decimal import Decimal

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[2] / "data"


def rows():
    for name in ["sp500_dataset.csv.gz", "sp500_index.csv.gz", "factors_dataset.csv.gz"]:
        with gzip.open(ROOT / name, "rt") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for line in reader:
                for ticker, cell in zip(header[1:], line[1:]):
                    if cell:
                        yield {"ticker": ticker, "date": line[0], "close": Decimal(cell)}


def main():
    url = sys.argv[1]
    db = boto3.resource("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")
    name = f"boto{os.getpid()}_prices"
    table = db.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "ticker", "AttributeType": "S"}, {"AttributeName": "date", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "ticker", "KeyType": "HASH"}, {"AttributeName": "date", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    items = list(rows())
    start = time.perf_counter()
    with table.batch_writer() as writer:
        for item in items:
            writer.put_item(Item=item)
    seconds = time.perf_counter() - start
    print(f"| boto3 batch_writer | {len(items)} | {seconds:.1f} | {len(items) / seconds:.0f} |")


if __name__ == "__main__":
    main()
