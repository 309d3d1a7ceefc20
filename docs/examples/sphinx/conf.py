# An example Sphinx project with live Cloche demos (docs/embedding.md, "Sphinx").
#   python -m sphinx -b html docs/examples/sphinx OUT
project = "Cloche demos in Sphinx"
extensions = ["cloche_server.sphinx"]
# Where the built Cloche dist is; without it, the checkout's dist/ or the one in the cloche wheel.
# cloche_dist = "../../../dist"
html_theme = "alabaster"
