"""Radio backends of the gateway service: the simulated HAN and real zigpy radios."""
