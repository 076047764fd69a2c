"""The call log: one row per call kept from the CallEvents, and its read side.

`calls.log.CallLog` is the bus handler that writes `calls.models.CallRecord`;
`calls.reports` computes queue and agent figures over an interval; `calls.views`
answers the questions routes ask of the log (recent calls, a customer's calls).
It imports routing's vocabulary and config only.
"""
