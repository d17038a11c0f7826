"""KPIs: documented definitions, daily rollups kept current, dashboards and the monthly report pack."""
