"""Historical market data: parquet store, validation, CSV import and exchange fetchers.

Modules (import what you need; nothing heavy is imported here):

* `store`        `MarketStore`: validated, atomic, duplicate-free parquet datasets
* `csv_files`    `load_csv` / `load_funding_csv` for shipped ``<venue>_<SYMBOL>_<tf>.csv.gz``
* `validation`   rules, `DataValidationError`, gap summaries, opt-in repair
* `symbols`      canonical stored symbol names (``BTC``, ``BTCUSDC``, ``BTC/USDC:USDC`` → ``BTC``)
* `importer`     files/folders → store
* `user_file`    `load_user_bars`: a user's ``--data FILE`` checked like an import (name, bar
                 spacing, rows by line, gaps); every command taking ``--data`` uses it
* `retry`        the one retry policy for network calls (`FetchError`)
* `fetch_hyperliquid`, `fetch_ccxt`, `download`   venue fetchers and incremental download
"""
