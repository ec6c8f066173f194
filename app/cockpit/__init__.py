"""The leaders' cockpit (领导驾驶舱): dashboards, charts and the chain map."""
