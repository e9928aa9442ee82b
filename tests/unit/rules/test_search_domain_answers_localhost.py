"""Rule search-domain-answers-localhost over captured and built facts: it fires on the fault and its variants, not on near misses."""

from helpers import host_facts, judge


def test_search_domain_answers_localhost(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": "nameserver 10.0.0.53\nsearch corp.example lab.example\n"})
    wildcard = {"name": "localhost.corp.example", "server": "10.0.0.53", "status": "answered", "rcode": "NOERROR", "addresses": ["10.20.30.40"]}
    facts["search_domains"] = {
        "status": "ok",
        "results": [
            dict(wildcard, domain="corp.example", wildcard=True, random_name="kubeprep-00.corp.example"),
            {"name": "localhost.lab.example", "domain": "lab.example", "status": "answered", "rcode": "NOERROR", "addresses": ["127.0.0.1"], "wildcard": False},
        ],
    }
    (finding,) = [f for f in judge(facts) if f["id"] == "search-domain-answers-localhost"]
    # files come first and /etc/hosts has localhost: only pods are exposed.
    assert finding["severity"] == "warning" and "localhost.corp.example resolves to 10.20.30.40 in DNS (a wildcard record)" == finding["message"]
    assert finding["data"] == {"domains": ["corp.example"]}  # lab.example answers loopback: fine
    facts["nsswitch"]["dns_before_files"] = True
    assert [f["severity"] for f in judge(facts) if f["id"] == "search-domain-answers-localhost"] == ["error"]
