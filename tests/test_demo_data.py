"""The demo's data: the same seed gives the same books, and HaloPSA's customers overlap the
platform's organisations the way real books do (exact, varied, missing, HaloPSA-only)."""

from __future__ import annotations

from gateway.demo_data import generate_halo_clients, generate_platform_data, organization_names


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    assert generate_platform_data(40, seed=7) == generate_platform_data(40, seed=7)
    assert generate_halo_clients(40, seed=7) == generate_halo_clients(40, seed=7)
    assert generate_platform_data(40, seed=7) != generate_platform_data(40, seed=8)


def test_organisations_are_unique_and_each_has_its_subscriptions() -> None:
    orgs, subs = generate_platform_data(60, subscriptions_per_org=(2, 8))
    assert len(orgs) == 60 and len({o.name for o in orgs}) == 60
    assert len({o.external_id for o in orgs}) == 60
    per_org = {o.external_id: 0 for o in orgs}
    for sub in subs:
        per_org[sub.organization_external_id] += 1
        assert sub.start_date < sub.end_date and sub.quantity >= 0
        assert sub.customer_price >= sub.cost_price  # a margin, never a loss
    assert all(2 <= n <= 8 for n in per_org.values())


def test_halopsa_has_some_names_exactly_some_varied_and_some_of_its_own() -> None:
    names = organization_names(60)
    clients = [c.name for c in generate_halo_clients(60)]
    exact = [c for c in clients if c in names]
    stems = {n.rpartition(" ")[0].casefold() for n in names}  # "Acme" of "Acme Ltd"
    varied = [c for c in clients if c not in names and c.rpartition(" ")[0].casefold() in stems]
    own = [c for c in clients if c.startswith("Internal Account")]
    assert exact and varied and len(own) == 6
    assert len(exact) + len(varied) < len(names)  # some organisations are not in HaloPSA yet
