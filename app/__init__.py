"""Seratus: the first-100-days work plan tracker."""
