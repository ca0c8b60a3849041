"""The network gate and the safe HTTP client: every outbound request Pressroom makes goes through here."""

from pressroom.net.client import FetchResult, SafeHttpClient
from pressroom.net.gate import NetworkGate, Purpose, Target, address_reason

__all__ = ["FetchResult", "NetworkGate", "Purpose", "SafeHttpClient", "Target", "address_reason"]
