"""Missions: the CX Mission Statement and the CX Success Statement (measures with baseline,
target, owner and actuals, validated by finance), both versioned with executive approval."""
