from pipeline.provision import GlueTable


def test_the_glue_table_skips_malformed_lines_as_duckdb_does():
    table = GlueTable(database="occupancy", name="occupancy", bucket="lake")

    serde = table.table_input()["StorageDescriptor"]["SerdeInfo"]

    assert serde["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert serde["Parameters"]["ignore.malformed.json"] == "true"
    assert "captured_at" in serde["Parameters"]["paths"]
