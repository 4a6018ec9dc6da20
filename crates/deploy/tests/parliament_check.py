"""Runs parliament's analysis on each IAM policy file given; prints every finding; exits 1 if any."""
import sys

from parliament import analyze_policy_string

found = False
for path in sys.argv[1:]:
    with open(path) as f:
        policy = analyze_policy_string(f.read())
    for finding in policy.findings:
        found = True
        print(f"{path}: {finding.issue} {finding.detail} {finding.location}")
sys.exit(1 if found else 0)
