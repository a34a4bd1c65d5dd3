"""Bare Metal v1 (Ironic subset). Reserved here; the node API arrives with
the bare-metal issue."""
from fastapi import APIRouter

router = APIRouter()
