"""AT command tables per modem family; the driver only speaks through these entries.

SIMCom SIM7000/SIM7600 (single-connection TCP/IP application mode) is the primary table;
Quectel BG96 uses the QI* socket commands with direct-push receive. Each entry is a
template (`%s`/`%d` filled by the driver) or a marker string the driver waits for.
"""

SIMCOM = {
    "reg": ("AT+CEREG?", "+CEREG:"),  # LTE-M / NB-IoT; the driver also tries CREG
    "reg2": ("AT+CREG?", "+CREG:"),
    "setup": ("AT+CIPMUX=0", "AT+CIPHEAD=1"),  # one socket, "+IPD,<n>:" before data
    "apn": 'AT+CSTT="%s","%s","%s"',
    "up": "AT+CIICR",
    "ip": "AT+CIFSR",  # answers the address, no OK
    "open": 'AT+CIPSTART="TCP","%s",%d',
    "open_ok": ("CONNECT OK", "ALREADY CONNECT"),
    "open_fail": ("CONNECT FAIL", "STATE:"),
    "send": "AT+CIPSEND=%d",
    "sent": "SEND OK",
    "send_fail": "SEND FAIL",
    "recv": "+IPD,",  # +IPD,<len>:<bytes>
    "closed": ("CLOSED", "+PDP: DEACT"),
    "close": "AT+CIPCLOSE=1",
    "down": "AT+CIPSHUT",
    "reset": "AT+CFUN=1,1",
    "ready": ("RDY", "SMS Ready", "PB DONE"),
}

QUECTEL = {
    "reg": ("AT+CEREG?", "+CEREG:"),
    "reg2": ("AT+CREG?", "+CREG:"),
    "setup": (),
    "apn": 'AT+QICSGP=1,1,"%s","%s","%s",1',
    "up": "AT+QIACT=1",
    "ip": None,
    "open": 'AT+QIOPEN=1,0,"TCP","%s",%d,0,1',  # access mode 1: direct push
    "open_ok": ("+QIOPEN: 0,0",),
    "open_fail": ("+QIOPEN: 0,",),
    "send": "AT+QISEND=0,%d",
    "sent": "SEND OK",
    "send_fail": "SEND FAIL",
    "recv": '+QIURC: "recv",0,',  # +QIURC: "recv",0,<len>\r\n<bytes>
    "closed": ('+QIURC: "closed"', '+QIURC: "pdpdeact"'),
    "close": "AT+QICLOSE=0",
    "down": "AT+QIDEACT=1",
    "reset": "AT+CFUN=1,1",
    "ready": ("RDY", "APP RDY"),
}

TABLES = {"sim7000": SIMCOM, "sim7600": SIMCOM, "bg96": QUECTEL}
