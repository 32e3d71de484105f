*** Settings ***
Documentation       TCP timestamp server (seed port 11000).
...
...                 Each chunk the server receives is answered with the current time in
...                 ``time.ctime()`` format immediately followed by the chunk, for example
...                 ``Sun Dec 16 17:04:10 2018client message`` (with ``TIMESTAMP_FORMAT:bracket``:
...                 ``[Sun Dec 16 17:04:10 2018] client message``). The time must be within
...                 ``CLOCK_TOLERANCE`` seconds of this machine's clock, in its time zone.
...                 The connection stays open until the client closes it.
...
...                 Replies are checked as a byte stream: a reply split over several
...                 segments, or arriving with the next one, is checked the same way.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    timestamp    tcp    --format    ${TIMESTAMP_FORMAT}
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Template       Message Should Come Back With The Current Time
Test Tags           tcp    timestamp
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${TIMESTAMP_FORMAT}     ctime
${CLOCK_TOLERANCE}      3
${CTIME}                [A-Z][a-z]{2} [A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}


*** Test Cases ***                              MESSAGE
A Short Message Gets The Time                   client message
Non-ASCII Text Round-Trips                      héllo wörld 中文
Whitespace Is Kept                              ${SPACE}tab\tend\n
A Long Message Of 1000 Bytes Gets The Time      ${{ 'x' * 1000 }}

Several Messages On One Connection Are Each Answered
    [Documentation]    The connection stays open, and every message on it gets its own
    ...    time-stamped reply.
    [Template]    NONE
    Given A Client
    Then Each Of 5 Messages Comes Back With The Current Time

A Second Client Is Served After The First Leaves
    [Documentation]    When a client closes its connection, the next client is served.
    [Template]    NONE
    Given A Client
    And It Has Been Answered    from the first client
    When It Leaves
    Then A New Client Is Answered Too


*** Keywords ***
Message Should Come Back With The Current Time
    [Documentation]    A new client sends ``message`` and gets the time followed by it.
    [Arguments]    ${message}
    Open Client
    It Has Been Answered    ${message}

It Has Been Answered
    [Documentation]    Send ``message``; the reply is the current time followed by it.
    [Arguments]    ${message}
    Send    ${message}
    ${escaped}    Evaluate    re.escape($message)
    IF    $TIMESTAMP_FORMAT == 'bracket'
        ${_}    ${stamp}    Reply Should Match    \\[(${CTIME})\\] ${escaped}
    ELSE
        ${_}    ${stamp}    Reply Should Match    (${CTIME})${escaped}
    END
    The Time Should Be Current    ${stamp}

The Time Should Be Current
    [Documentation]    The ctime text is within ``CLOCK_TOLERANCE`` seconds of this clock.
    [Arguments]    ${stamp}
    ${skew}    Evaluate    round(abs(time.time() - time.mktime(time.strptime($stamp))), 1)
    VAR    ${problem}    The reply's time '${stamp}' is ${skew} seconds away from this
    ...    machine's clock, which allows ${CLOCK_TOLERANCE}.
    Should Be True    ${skew} <= ${CLOCK_TOLERANCE}    ${problem}

Each Of ${count} Messages Comes Back With The Current Time
    [Documentation]    Send numbered messages one by one, each answered before the next.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        It Has Been Answered    message number ${number}
    END

It Leaves
    [Documentation]    The current client closes its connection.
    Close Connection

A New Client Is Answered Too
    [Documentation]    A client connecting now gets its time-stamped reply.
    Message Should Come Back With The Current Time    from the second client
