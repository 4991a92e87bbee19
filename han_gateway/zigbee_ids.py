"""Zigbee profile and cluster ids the project names, one copy for the gateway and the portal.

Plain numbers from the Zigbee Cluster Library and the Smart Energy Profile (ZigBee 07-5356);
no zigpy and no Django, so the diagnosis and the worker can import them freely.
"""

from typing import Final

SMART_ENERGY_PROFILE_ID: Final = 0x0109
HOME_AUTOMATION_PROFILE_ID: Final = 0x0104

# The highest PAN id a network may take: 0xFFFF is the broadcast PAN id.
MAX_PAN_ID: Final = 0xFFFE

# How long a parent holds a frame for a sleeping child (IEEE 802.15.4
# macTransactionPersistenceTime at its default, 0x01F4 unit periods of 15.36 ms).
MAC_TRANSACTION_PERSISTENCE_S: Final = 7.68

# Transmit power, dBm. Full power is zigpy's CONF_NWK_TX_POWER_SAFE, allowed in every
# regulatory region. North American radios must cut their power on channel 26, at the edge of
# the 2.4 GHz band (and often on 25): a HAN there has uniformly weaker links.
FULL_TX_POWER_DBM: Final = 8
POWER_CUT_CHANNEL: Final = 26

# General clusters (ZCL)
BASIC: Final = 0x0000
POWER_CONFIGURATION: Final = 0x0001
IDENTIFY: Final = 0x0003
ON_OFF: Final = 0x0006
TIME: Final = 0x000A
OTA: Final = 0x0019
THERMOSTAT: Final = 0x0201
IAS_ZONE: Final = 0x0500
ELECTRICAL_MEASUREMENT: Final = 0x0B04

# Smart Energy clusters
PRICE_CLUSTER_ID: Final = 0x0700
DRLC_CLUSTER_ID: Final = 0x0701
METERING_CLUSTER_ID: Final = 0x0702
MESSAGING_CLUSTER_ID: Final = 0x0703
KEY_ESTABLISHMENT_CLUSTER_ID: Final = 0x0800
# Smart Energy traffic that must carry APS security with the link key (Key Establishment, which
# sets that key up, runs with network security only).
SMART_ENERGY_CLUSTER_IDS: Final = frozenset(
    {PRICE_CLUSTER_ID, DRLC_CLUSTER_ID, METERING_CLUSTER_ID, MESSAGING_CLUSTER_ID}
)
