from publisher.cli import app

app(prog_name="python -m publisher")
