"""Reports across every channel: sales and inventory, aggregated by the database itself.

Every figure is computed with SQL aggregation (`GROUP BY` over orders, lines and movements) on
SQLite and PostgreSQL alike; Python only combines the grouped rows (currencies, rates, ratios),
so a report over 100,000 orders reads a few hundred rows, not 100,000.
"""
