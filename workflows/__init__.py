"""Temporal workflows: one `LeadWorkflow` per lead, executing the domain's decisions durably."""
