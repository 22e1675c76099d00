import httpx

from tests.support.builders import account, csv_file, upload


async def test_metrics_count_requests_uploads_and_the_outbox(
    client: httpx.AsyncClient,
) -> None:
    analyst = await account(client, "Sales")
    await upload(client, analyst, csv_file())

    response = await client.get("/metrics")

    assert response.status_code == 200
    text = response.text
    assert (
        'aetherflow_http_requests_total{method="POST",path="/datasets/upload",status="202"}'
        in text
    )
    assert 'aetherflow_uploads_total{outcome="accepted"}' in text
    assert "aetherflow_outbox_published_total" in text
    assert "aetherflow_http_request_duration_seconds_bucket" in text
