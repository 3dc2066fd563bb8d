from edm_client import Client


def test_create_then_get_returns_the_stored_record(client: Client) -> None:
    records = client.performance.learning_records
    created = records.create(person_id="p1", title="AWS Solutions Architect", score=87.5)
    assert records.get(created.id) == created
