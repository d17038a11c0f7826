"""Supplies: items, stock by location and lot, consumption per exam, counts, recalls, reorder."""
