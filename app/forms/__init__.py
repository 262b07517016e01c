"""The form layer: what a browser form sends, as typed; the checks each field gets, with its
Indonesian message; and the one error shape (`FormErrors`, a message per field) that every
page re-renders next to its fields. Services never read browser strings themselves.
"""
