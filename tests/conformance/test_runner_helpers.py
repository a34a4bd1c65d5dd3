"""The conformance harness's pure parts: subset lines, suite counts, causes."""
from __future__ import annotations

import re

from tests.conformance.causes import cause, normalise
from tests.conformance.runner import CI_SUBSET, classify, line_regex, regex_for, subset_lines


def test_a_plain_id_matches_exactly_that_test_and_a_regex_stays_a_regex():
    pattern = line_regex("tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_get_flavor")
    assert re.search(pattern, "tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_get_flavor"
                              "[id-1f12046b-753d-40d2-abb6-d8eb8b30cb2f,smoke]")
    assert not re.search(pattern, "tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_get_flavor_x")
    assert line_regex(r"^tempest\.api\.compute\.flavors\.") == r"^tempest\.api\.compute\.flavors\."


def test_the_ci_subset_file_parses_and_names_both_suites():
    lines = subset_lines(CI_SUBSET)
    assert lines and all(not line.startswith("#") for line in lines)
    assert any(re.search(regex_for("compute"), line) for line in lines)
    assert any(re.search(regex_for("baremetal"), line) for line in lines)


def test_counts_per_suite_include_class_level_records():
    records = [{"id": "tempest.api.compute.a.B.test_x", "status": "success"},
               {"id": "setUpClass (tempest.api.compute.a.C)", "status": "fail"},
               {"id": "setUpClass (ironic_tempest_plugin.tests.api.admin.D)", "status": "skip"}]
    assert classify(records) == {"compute": {"passed": 1, "failed": 1, "skipped": 0},
                                 "baremetal": {"passed": 0, "failed": 0, "skipped": 1}}


def test_a_cause_names_the_failed_request_that_matches_the_error():
    record = {"error": "tempest.lib.exceptions.NotFound: Object not found",
              "requests": ["404 GET /compute/v2.1/servers/0b0e4c1a-6c9f-4a57-9b43-0c5d0e0c3f11",
                           "404 POST /compute/v2.1/os-keypairs", "200 GET /compute/v2.1/flavors"]}
    assert cause(record) == "404 POST /compute/v2.1/os-keypairs (NotFound)"
    assert normalise("/baremetal/v1/nodes/12?fields=x") == "/baremetal/v1/nodes/{id}?…"
    shape = {"error": "tempest.lib.exceptions.InvalidHTTPResponseBody: HTTP response body is invalid",
             "requests": ["200 GET /compute/v2.1/os-services"]}
    assert cause(shape).endswith("[after 200 GET /compute/v2.1/os-services]")
