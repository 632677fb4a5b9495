"""Performance analytics over the journal: metrics (`performance`), per-strategy P&L and a
benchmark (`attribution`), daily / weekly reports with a chart (`reports`)."""
