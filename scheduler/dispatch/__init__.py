"""Dispatch heuristics: feasible plans in well under a second, by placing bookings in order."""

from scheduler.dispatch.dispatcher import BookingNotPlaced as BookingNotPlaced
from scheduler.dispatch.dispatcher import Dispatcher as Dispatcher
from scheduler.dispatch.dispatcher import dispatch as dispatch
from scheduler.dispatch.rules import RULES as RULES
from scheduler.dispatch.rules import DispatchRule as DispatchRule
