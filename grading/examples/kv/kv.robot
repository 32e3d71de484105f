*** Settings ***
Documentation       A key-value store over TCP, one request per line: a custom assignment.
...
...                 ``SET key value`` stores the value and answers ``OK``; ``GET key`` answers
...                 the value, or ``NOT FOUND``; any other line answers ``ERROR``. Every reply
...                 is one line. All clients share one store.
...
...                 It has no reference server in the kit: give the server under test with
...                 ``--variable "SERVER_CMD:python3 server.py" --variable PORT:7070``, as
...                 the grader does with ``--cmd`` and ``--port``.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    kv    tcp
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Template       A Request Line Should Be Answered
Test Tags           tcp    kv
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${KEY}          colour
${VALUE}        blue
# 2,000 characters: more than one read of a careless server takes.
${LONG}         ${{ 'x' * 2000 }}


*** Test Cases ***                  REQUEST             REPLY
Set Is Acknowledged                 SET ${KEY} red      OK
An Unknown Key Is Not Found         GET nothing         NOT FOUND
An Unknown Command Is An Error      DELETE ${KEY}       ERROR
An Empty Line Is An Error           ${EMPTY}            ERROR

A Stored Value Is Read Back
    [Documentation]    A value stored with ``SET ${KEY} ${VALUE}`` is what ``GET ${KEY}``
    ...    answers on the same connection.
    [Tags]    points:2
    [Template]    NONE
    Given A Client
    When It Sends The Line    SET ${KEY} ${VALUE}
    Then The Reply Is The Line    OK
    When It Sends The Line    GET ${KEY}
    Then The Reply Is The Line    ${VALUE}

Another Client Reads What One Stored
    [Documentation]    All clients share one store: what one client stored with
    ...    ``SET shared yes``, a client that connects later reads with ``GET shared``.
    [Tags]    points:2
    [Template]    NONE
    A Request Line Should Be Answered    SET shared yes    OK
    A Request Line Should Be Answered    GET shared    yes

A Long Value Is Stored Whole
    [Documentation]    A value of 2,000 characters comes back whole.
    [Tags]    hidden
    [Template]    NONE
    A Request Line Should Be Answered    SET long ${LONG}    OK
    A Request Line Should Be Answered    GET long    ${LONG}


*** Keywords ***
A Request Line Should Be Answered
    [Documentation]    A new client sends ``request`` as a line and gets ``reply`` as a line.
    [Arguments]    ${request}    ${reply}
    Open Client
    Send Line    ${request}
    Reply Should Be    ${reply}\n
    Close Connection

It Sends The Line
    [Documentation]    The current client sends the text and a newline.
    [Arguments]    ${text}
    Send Line    ${text}

The Reply Is The Line
    [Documentation]    The next reply is exactly the text and a newline.
    [Arguments]    ${text}
    Reply Should Be    ${text}\n
