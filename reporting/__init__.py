"""The sales–marketing review report, read from the ledger (`python starter.py report`).

`report.build_report(entries, since=, now=)` → `model.Report`; `text.render_report_text` and
`html.render_report_html` show it. Pure functions over the entries `domain.decide` records; no
clock, no I/O. The definitions, so the numbers mean the same thing every review:

**Period.** Entries at or after `since` (all when `None`); `until` is `now`, when the report was
made. Entries stamped after `now` are kept (a clock ahead, a time-skipping test). The report counts
what happened in the period: a lead whose intake is earlier is in it when it has an entry in the
period that shows its stage (any record or notification carries it, and so does a lifecycle
transition); engagement decay alone (temperature transitions) is not activity. `leads` counts them.

**Funnel.** The main path `new → mql → sql → accepted → customer`. A lead *reached* a stage when it
was in that stage or a later one at some time in the period (lost counts as accepted: only an
accepted lead can be lost), so a referral that skipped MQL still counts there and every rate stays
within 0..1. *Entered*: it moved into the stage in the period (new: its first intake). Conversion:
reached / the previous stage's reached; overall: reached customer / leads. Lost and disqualified:
leads that moved there in the period.

**Tier.** The tier in the first entry after the lead entered SQL in the period (the intake entry
is written before the first scoring, so it would always say `low`); a lead that did not enter SQL
in the period takes its latest tier there; `unknown` when no entry carries one.

**Speed to lead.** For each acceptance, the time from the lead entering SQL (its `qualify`
transition; when that is before the period, its first `pending` handoff of that SQL visit) to the
`accepted` handoff, counted for the rep who accepted — including time lost on earlier attempts.
Acceptances whose start is before the period are counted but not timed. p50 / p90 use the
nearest-rank method: the smallest observed value with at least p % of values at or below it.

**SLA breaches.** Per handoff attempt (a lead's SQL visit and attempt number, one rep): breached
when it went `overdue` (or `escalated` / `expired`), was accepted after its `deadline`, or is still
pending past its deadline at `now`. An attempt pending with its deadline ahead is *open* and left
out of the rate; one replaced by another attempt, or whose lead left SQL, is over and not breached.
Rate: breached / (attempts - open).

**Quality by source.** The source is the one on the lead's intake entry, else the one on its
feedback entries, else `unknown` (an intake before the period with no feedback in it). Ratings,
feedback reasons and missed feedback come from `feedback` entries; reject reasons from `rejected`
handoffs; won / lost and lost reasons from `outcome` entries. Reasons are the rules' codes.

**Recycled.** `return_to_marketing` transitions (by their reason), `recycle` (by the lost reason
recorded before it, else `unknown`) and `reject` back to nurture (by the reject reason).

No personal data: lead ids and the reps' free-text notes are never copied into a report.
"""
