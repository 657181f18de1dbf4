"""Reports: path diagrams, APA tables, HTML and Markdown documents."""
