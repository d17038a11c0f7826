"""KPIs: documented definitions, daily rollups kept current, dashboards, the monthly pack."""
